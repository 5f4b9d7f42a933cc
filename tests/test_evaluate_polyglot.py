"""The polyglot proposal from verdicts and measured strategy runs, without a server: the store that lost
acknowledged writes in its crash trial is never the system of record; it serves the read it meets the target of
(a cache) beside the record that fails it; the write strategy is the measured one that converged with the fewest
divergent orders, or "not measured" with the command to measure it. The record opens in headless Chromium with
both stores and both roles in its diagram, and every link resolves."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sandbox.report.evaluation import decision_html, strategy_evidence
from sandbox.report.evaluation.proposal import SYSTEM_OF_RECORD, decide
from sandbox.report.evaluation.score import MET, NOT_MET, Evidence, Verdict
from sandbox.workload import requirements as requirements_file
from tests.decision_page import check_links, chromium, open_decision

PROJECT = Path(__file__).resolve().parent.parent
REQUIREMENTS = '''model = "orders"
mix = "ycsb-a"

[load]
peak_rate = 200
data_size = 200

[latency.get_order]
target = "p99 <= 5ms"
rate = 200

[durability]
lost_acknowledged = "none"
'''
MEASURED = {"mix": {"capacity": {"postgres": {"curve": [{"rate": 200, "p99_ms": 9.5}]},
                                 "redis": {"curve": [{"rate": 200, "p99_ms": 0.8}]}}},
            "durability": {"rows": [{"store": "postgres", "lost": 0}, {"store": "redis", "lost": 37}]}}


def _strategies(lag_ms: float) -> list[dict[str, Any]]:
    both = ["postgres", "redis"]
    return [{"strategy": "dual-write", "stores": both, "promises_convergence": False, "settled": True,
             "finding": None, "divergence_after_recovery": {"divergent": 12}, "time_to_converge_s": None,
             "lag_ms": {}},
            {"strategy": "outbox", "stores": both, "promises_convergence": True, "settled": True, "finding": None,
             "divergence_after_recovery": {"divergent": 0}, "time_to_converge_s": 1.5,
             "lag_ms": {"redis": {"p99": lag_ms}}}]


def _verdicts() -> list[Verdict]:
    def cap(store: str, status: str, i: int = 0) -> Verdict:
        p99 = MEASURED["mix"]["capacity"][store]["curve"][i]["p99_ms"]  # type: ignore[index]
        return Verdict(store, "latency of get_order", status, kind="capacity", patterns=["get_order"],
                       evidence=[Evidence("run-a", f"mix.capacity.{store}.curve.{i}", f"p99 {p99} ms at 200/s")])

    def durable(store: str, status: str, i: int) -> Verdict:
        lost = MEASURED["durability"]["rows"][i]["lost"]  # type: ignore[index]
        return Verdict(store, "durability: no acknowledged writes lost", status, kind="durability",
                       evidence=[Evidence("run-a", f"durability.rows.{i}", f"{lost} acknowledged lost")])
    return [Verdict("postgres", "answers", MET, kind="answers"), cap("postgres", NOT_MET), durable("postgres", MET, 0),
            Verdict("redis", "answers", MET, kind="answers"), cap("redis", MET), durable("redis", NOT_MET, 1)]


def _write(results: Path, name: str, summary: dict[str, Any]) -> None:
    (results / name).mkdir(parents=True)
    (results / name / "summary.json").write_text(json.dumps(summary))


def test_the_store_that_lost_writes_is_a_cache_beside_the_record_and_the_converging_strategy_is_chosen(
        tmp_path: Path) -> None:
    results = tmp_path / "results"
    _write(results, "run-a", MEASURED)
    _write(results, "run-s", {"model": {"name": "orders"}, "strategies": _strategies(40.0)})
    _write(results, "run-t", {"model": {"name": "social"}, "strategies": _strategies(1.0)})  # another model
    req, model = requirements_file.loads(REQUIREMENTS, tmp_path / "r.toml", PROJECT)
    stores = ["postgres", "redis"]
    decision = decide(stores, _verdicts(), model, lambda pairs: strategy_evidence.find(results, "orders", pairs))
    assert decision.chosen is None and set(decision.not_record) == {"redis"}
    assert [(r.role, r.store, r.patterns) for r in decision.roles] == [
        (SYSTEM_OF_RECORD, "postgres", []), ("cache", "redis", ["get_order"])]
    assert decision.strategy is not None and decision.strategy.strategy == "outbox"
    assert decision.strategy.run == "run-s" and "lag p99 40 ms to redis" in decision.strategy.evidence[0].shown

    folder = results / "evaluate-r"
    folder.mkdir()
    servers = {"postgres": "PostgreSQL 15", "redis": "Redis 7.0"}
    md, page = decision_html.write_record(folder, tmp_path / "r.toml", req, model, stores, _verdicts(), [],
                                          servers, decision)
    text = md.read_text()
    assert "Write strategy: **outbox** from postgres to redis" in text
    assert "redis is excluded as system of record: durability" in text
    assert "Cost per month of postgres, redis: not measured: no cost figure" in text
    with chromium(tmp_path / "chromium") as browser:
        shown = open_decision(browser, page)
        assert shown["width"] > 300 and shown["height"] > 80
        assert {"postgres", "redis", SYSTEM_OF_RECORD, "cache"} <= set(shown["nodes"]), shown["nodes"]
        assert "system of record" in shown["nodes"]["postgres"] and "cache" in shown["nodes"]["redis"]
        assert check_links(page, shown["hrefs"]) >= 5  # two p99s, two strategies, the run, the svg
    svg = (folder / "decision.svg").read_text()
    assert "write strategy: outbox" in svg and "lag p99 40 ms to redis" in svg


def test_an_unmeasured_strategy_is_said_with_the_command_to_measure_it(tmp_path: Path) -> None:
    results = tmp_path / "results"
    _write(results, "run-a", MEASURED)
    req, model = requirements_file.loads(REQUIREMENTS, tmp_path / "r.toml", PROJECT)
    decision = decide(["postgres", "redis"], _verdicts(), model,
                      lambda pairs: strategy_evidence.find(results, "orders", pairs))
    assert decision.strategy is not None and decision.strategy.strategy is None
    folder = results / "evaluate-r"
    folder.mkdir()
    md, _ = decision_html.write_record(folder, tmp_path / "r.toml", req, model, ["postgres", "redis"], _verdicts(),
                                       [], {}, decision)
    text = md.read_text()
    assert "Write strategy between postgres and redis: not measured here" in text
    assert "sandbox run strategies --stores postgres,redis -p source=postgres" in text
    assert "write strategy not measured" in (folder / "decision.svg").read_text()
