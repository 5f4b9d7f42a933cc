"""The write strategy that keeps a system of record and a derived store in step, from measured strategy runs.

A run of the `strategies` scenario (or one of its single-strategy scenarios) on the same model is evidence: its
summary.json `strategies` list gives, per strategy, the orders divergent after recovery, whether it converged and
how fast, and the lag to each store. The choice: a strategy that promises convergence and converged, fewest
divergent after recovery, then the shortest lag p99. Nothing found: "not measured", with the command to measure.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sandbox.report.evaluation.score import Evidence


@dataclass(frozen=True)
class StrategyChoice:
    strategy: str | None  # None: no strategy run of this pair on this model here
    record: str
    derived: str
    evidence: list[Evidence]
    considered: list[str]  # one line per measured strategy, as the record states it
    run: str  # the results folder the numbers came from ("" when none)

    @property
    def command(self) -> str:
        return (f"sandbox run strategies --stores {self.record},{self.derived} -p source={self.record} "
                f"-p fault_store={self.derived}")

    def to_json(self) -> dict[str, Any]:
        return {"strategy": self.strategy, "record": self.record, "derived": self.derived, "run": self.run,
                "considered": self.considered}


def _lag_p99(outcome: dict[str, Any], store: str) -> float | None:
    return ((outcome.get("lag_ms") or {}).get(store) or {}).get("p99")


def _divergent(outcome: dict[str, Any]) -> int | None:
    after = outcome.get("divergence_after_recovery") or outcome.get("divergence_at_end")
    return None if after is None else int(after.get("divergent", 0))


def choose(run: str, outcomes: list[dict[str, Any]], record: str, derived: str) -> StrategyChoice:
    """The best measured strategy of one run for the pair (record -> derived)."""
    usable = [(i, o) for i, o in enumerate(outcomes) if {record, derived} <= set(o.get("stores", []))]
    considered: list[str] = []
    evidence: list[Evidence] = []
    for i, o in usable:
        div, lag = _divergent(o), _lag_p99(o, derived)
        path = f"strategies.{i}"
        shown = (f"{o['strategy']}: {div if div is not None else 'no count of'} orders divergent after recovery"
                 + (f", converged in {o['time_to_converge_s']:g} s" if o.get("time_to_converge_s") is not None
                    else ", did not converge" if o.get("promises_convergence") else ", promises no convergence")
                 + (f", lag p99 {lag:g} ms to {derived}" if lag is not None else ", lag not measured"))
        evidence.append(Evidence(run, path, shown))
        considered.append(shown)

    def key(io: tuple[int, dict[str, Any]]) -> tuple[bool, int, float]:
        o = io[1]
        converged = bool(o.get("promises_convergence")) and not o.get("finding") and bool(o.get("settled"))
        div = _divergent(o)
        lag = _lag_p99(o, derived)
        return (not converged, div if div is not None else 1 << 30, lag if lag is not None else float("inf"))
    if not usable:
        return StrategyChoice(None, record, derived, [], [], "")
    best = min(usable, key=key)
    order = [i for i, _ in usable]
    first = evidence.pop(order.index(best[0]))
    return StrategyChoice(str(best[1]["strategy"]), record, derived, [first, *evidence], considered, run)


def find(results_root: Path, model: str, pairs: list[tuple[str, str]]) -> dict[tuple[str, str], StrategyChoice]:
    """Per (record, derived) pair, the choice from the newest finished strategy run on `model` that had both."""
    out: dict[tuple[str, str], StrategyChoice] = {}
    if not results_root.is_dir():
        return out
    for folder in sorted(results_root.iterdir(), reverse=True):
        summary = folder / "summary.json"
        if not summary.is_file() or not (pending := [p for p in pairs if p not in out]):
            continue
        try:
            data = json.loads(summary.read_text())
        except (OSError, json.JSONDecodeError):
            continue  # a half-written run is no evidence
        outcomes = data.get("strategies")
        if data.get("interrupted") or not isinstance(outcomes, list) or \
                (data.get("model") or {}).get("name") != model:
            continue
        for record, derived in pending:
            got = choose(folder.name, outcomes, record, derived)
            if got.strategy is not None:
                out[(record, derived)] = got
    return out
