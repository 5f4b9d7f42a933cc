"""The isolation experiment's judgement and its cells, from a summary (no server)."""

from __future__ import annotations

from sandbox.experiments.isolation import EXPERIMENT, section
from sandbox.experiments.isolation.result import IsolationRuns, broken


def row(promise: str, anomalies: dict[str, int]) -> dict:  # type: ignore[type-arg]
    return {"store": "s", "level": "l", "promise": promise, "txns": {"ok": 9, "fail": 1, "info": 0, "total": 10},
            "anomalies": anomalies, "broken": broken(promise, anomalies), "examples": {"G-single": "T1 -rw(x)-> T2"},
            "ok_per_s": 5.0}


def test_promises() -> None:
    assert broken("read-committed", {"lost-update": 3, "G-single": 1, "G2-item": 2}) == []
    assert broken("read-committed", {"G1c": 1}) == ["G1c"]
    assert broken("snapshot-isolation", {"G2-item": 1, "G-single": 1}) == ["G-single"]
    assert broken("serializable", {"G2-item": 1, "cycle-search-incomplete": 1}) == ["G2-item"]


def test_findings_and_matrix() -> None:
    runs = IsolationRuns(rows=[row("read-committed", {"lost-update": 2}), row("serializable", {"G-single": 1})],
                         left_out={"e": "no multi-document transactions"})
    found = EXPERIMENT.findings(runs)
    assert len(found) == 1 and "G-single" in found[0] and "T1 -rw(x)-> T2" in found[0]
    cells = section.matrix({"isolation": runs.to_json()}, "R1")
    assert [c[0] for c in cells] == ["s", "s", "e"] and all(c[1] == "consistency" for c in cells)
    assert "lost-update 2" in cells[0][2] and "run R1" in cells[0][2]
    t = section.table({"isolation": runs.to_json()})
    assert t is not None and section.table({"isolation": None}) is None
