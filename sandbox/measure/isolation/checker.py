"""The checker: a history in, counts and named anomalies (each with an example a reader can follow) out.

    result = check(recorder.history)                 # list-append; model="rw-register" for registers
    result.valid, result.anomaly_counts, result.examples["G-single"][0].cycle

Nothing here knows a store: a runner records into `history.Recorder`, this reads the history.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sandbox.measure.isolation import list_append, registers
from sandbox.measure.isolation.anomalies import CLASSES, Anomaly, Findings
from sandbox.measure.isolation.cycles import Budget, classify, components, render
from sandbox.measure.isolation.edn import name, txn_line
from sandbox.measure.isolation.graph import DepGraph
from sandbox.measure.isolation.history import History, Txn

MODELS: dict[str, Callable[[Sequence[Txn], Findings], DepGraph]] = {
    "list-append": list_append.infer,
    "rw-register": registers.infer,
}
SEARCH_BUDGET = 2_000_000  # node visits per component for the G-single search (about a second)


@dataclass(frozen=True)
class Counts:
    ok: int = 0
    fail: int = 0  # aborts: the store refused or rolled back (serialization failures among them)
    info: int = 0  # outcome unknown (includes invocations never completed)

    @property
    def total(self) -> int:
        return self.ok + self.fail + self.info


@dataclass
class Result:
    model: str
    txns: Counts
    anomaly_counts: dict[str, int]  # class -> how many (cycle classes: components of the graph)
    examples: dict[str, list[Anomaly]]  # class -> the first few
    graph: dict[str, int] = field(default_factory=dict)  # edges per relation, components, largest

    @property
    def valid(self) -> bool:
        """No anomaly of any class."""
        return not self.anomaly_counts

    @property
    def kinds(self) -> set[str]:
        return set(self.anomaly_counts)

    def to_dict(self) -> dict[str, object]:
        """Plain JSON for summary.json."""
        return {"model": self.model, "valid": self.valid,
                "txns": {"ok": self.txns.ok, "fail": self.txns.fail, "info": self.txns.info,
                         "total": self.txns.total},
                "anomalies": {k: self.anomaly_counts[k] for k in CLASSES if k in self.anomaly_counts},
                "examples": {k: [a.to_dict() for a in v] for k, v in self.examples.items()},
                "graph": dict(self.graph)}

    def summary(self) -> str:
        """A few lines for a terminal."""
        head = (f"{self.model}: {self.txns.total:,} transactions ({self.txns.ok:,} ok, {self.txns.fail:,} failed, "
                f"{self.txns.info:,} unknown): ")
        if self.valid:
            return head + "no anomaly found"
        lines = [head + ", ".join(f"{k} {self.anomaly_counts[k]:,}" for k in CLASSES if k in self.anomaly_counts)]
        for kind in CLASSES:
            for a in self.examples.get(kind, [])[:1]:
                lines.append(f"  {kind}: {a.cycle or a.text}")
        return "\n".join(lines)


def _cycles(graph: DepGraph, txns: Sequence[Txn], found: Findings, budget: int) -> dict[str, int]:
    names = [t.name for t in txns]
    nodes = sorted(graph.succ)
    comps = components(graph, nodes)
    for comp in sorted(comps, key=min):  # in history order, so the first examples are the earliest
        cycle = classify(graph, comp, Budget(budget))
        steps = cycle.steps
        line = render(steps, names, lambda a, b, rel: name(graph.key(a, b, rel)))
        ids = tuple(txns[a].id for a, _, _ in steps)
        detail = tuple(txn_line(txns[a]) for a, _, _ in steps)
        found.add(cycle.kind, ids, f"a cycle among {cycle.size:,} transactions: {line}", cycle=line, detail=detail)
        if not cycle.complete:
            found.add("cycle-search-incomplete", ids, f"a component of {cycle.size:,} transactions: reported as "
                      f"{cycle.kind} from {line}; a G-single may exist in it too")
    return {"components": len(comps), "largest": max((len(c) for c in comps), default=0)}


def check(history: History | Sequence[Txn], model: str = "list-append", search_budget: int = SEARCH_BUDGET,
          examples: int = 20) -> Result:
    """Check a history (or transactions already paired) for isolation anomalies under `model`."""
    if model not in MODELS:
        raise ValueError(f"unknown model {model!r}: one of {', '.join(MODELS)}")
    txns = history.txns() if isinstance(history, History) else list(history)
    found = Findings(keep=examples)
    graph = MODELS[model](txns, found)
    shape = _cycles(graph, txns, found, search_budget)
    by_type = {k: sum(1 for t in txns if t.type == k) for k in ("ok", "fail", "info")}
    return Result(model, Counts(**by_type), dict(found.counts), found.examples, {**graph.counts(), **shape})
