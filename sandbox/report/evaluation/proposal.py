"""The decision: one store when one fails nothing; otherwise a polyglot layout of roles (system of record, cache,
search, analytics / time series), a store per role and the write strategy that keeps them in step.

Everything here is read from verdicts (score.py) and from measured strategy runs (strategy_evidence.py): a store
is excluded as system of record by what its own durability / update / visibility runs showed, never by name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sandbox.report.evaluation.score import MET, NOT_MET, Evidence, Verdict
from sandbox.report.evaluation.strategy_evidence import StrategyChoice
from sandbox.workload.schema import Model

SYSTEM_OF_RECORD = "system of record"
# What a store serving an access pattern of this kind beside the system of record is for.
ROLE_OF_KIND = {"get": "cache", "find": "cache", "search": "search", "range": "analytics / time series",
                "aggregate": "analytics / time series"}
# Verdicts a system of record must not fail: it holds the writes everything else is derived from.
RECORD_KINDS = ("durability", "updates", "visibility")


@dataclass
class Role:
    role: str
    store: str | None  # None: no store measured here fills it
    patterns: list[str]  # the access patterns it serves
    why: str
    evidence: list[Evidence] = field(default_factory=list)


@dataclass
class Decision:
    chosen: str | None  # one store for everything, when one fails nothing
    by_store: dict[str, list[Verdict]]
    roles: list[Role] = field(default_factory=list)  # the polyglot layout (empty when one store was chosen)
    not_record: dict[str, Verdict] = field(default_factory=dict)  # store -> the verdict excluding it as record
    strategy: StrategyChoice | None = None

    @property
    def stores(self) -> list[str]:
        """The stores the decision names, in the order they are drawn."""
        if self.chosen is not None:
            return [self.chosen]
        return list(dict.fromkeys(r.store for r in self.roles if r.store is not None))

    def to_json(self) -> dict[str, object]:
        return {"chosen": self.chosen, "roles": [{"role": r.role, "store": r.store, "patterns": r.patterns,
                                                   "why": r.why} for r in self.roles],
                "not_system_of_record": {s: v.requirement for s, v in self.not_record.items()},
                "strategy": None if self.strategy is None else self.strategy.to_json()}


def _margin_ms(v: Verdict) -> float:
    return float(v.margin.split()[0].replace(",", "")) if v.margin.endswith("under the target") else 0.0


def rank(verdicts: list[Verdict]) -> tuple[int, bool, float]:
    # A stand-in's numbers are not the product's: at equal counts a measured product comes first.
    met = [v for v in verdicts if v.status == MET]
    return len(met), not any(v.stand_in for v in verdicts), sum(_margin_ms(v) for v in met)


def choose(stores: list[str], verdicts: list[Verdict]) -> tuple[str | None, dict[str, list[Verdict]]]:
    """The store that fails no requirement and meets the most (ties: a product before a stand-in, then the larger
    summed latency margins); None when every store fails one. Also each store's verdicts."""
    by_store = {s: [v for v in verdicts if v.store == s] for s in stores}
    candidates = [s for s in stores if not any(v.status == NOT_MET for v in by_store[s])]
    if not candidates:
        return None, by_store
    return max(candidates, key=lambda s: rank(by_store[s])), by_store


def _writes(model: Model, patterns: list[str]) -> list[str]:
    return [p for p in patterns if model.patterns[p].kind not in ROLE_OF_KIND]


def decide(stores: list[str], verdicts: list[Verdict], model: Model,
           strategies: Callable[[list[tuple[str, str]]], dict[tuple[str, str], StrategyChoice]] | None = None
           ) -> Decision:
    """`strategies`: the measured strategy choices for (record, derived store) pairs (strategy_evidence.find)."""
    chosen, by_store = choose(stores, verdicts)
    decision = Decision(chosen, by_store)
    for s in stores:  # a record must keep what it acknowledged and answer every write the mix makes
        failed = [v for v in by_store[s] if v.status == NOT_MET and (
            v.kind in RECORD_KINDS or (v.kind in ("answers", "capacity") and _writes(model, v.patterns)))]
        if failed:
            decision.not_record[s] = failed[0]
    if chosen is not None:
        return decision
    records = [s for s in stores if s not in decision.not_record]
    if not records:
        return decision
    record = max(records, key=lambda s: rank(by_store[s]))
    unmet = [p for v in by_store[record] if v.status == NOT_MET for p in v.patterns]
    served = list(dict.fromkeys(unmet))
    decision.roles.append(Role(SYSTEM_OF_RECORD, record, [], _record_why(record, by_store[record])))
    for role_name in dict.fromkeys(ROLE_OF_KIND[model.patterns[p].kind] for p in served):
        patterns = [p for p in served if ROLE_OF_KIND[model.patterns[p].kind] == role_name]
        decision.roles.append(_fill(role_name, patterns, record, stores, by_store))
    others = [r.store for r in decision.roles[1:] if r.store is not None and r.store != record]
    if others and strategies is not None:
        decision.strategy = _strategy(record, others, strategies([(record, o) for o in others]))
    return decision


def _record_why(store: str, verdicts: list[Verdict]) -> str:
    kept = [v for v in verdicts if v.kind in RECORD_KINDS and v.status == MET]
    return ("it fails none of the durability, update and visibility requirements measured here"
            + (f" ({len(kept)} met)" if kept else "") + " and answers every write of the mix")


def _fill(role: str, patterns: list[str], record: str, stores: list[str],
          by_store: dict[str, list[Verdict]]) -> Role:
    """The store, other than the record, that answers these patterns and meets their latency targets."""
    def serves(s: str) -> bool:
        vs = by_store[s]
        lacking = {p for v in vs if v.kind == "answers" for p in v.patterns}
        targets = [v for v in vs if v.kind == "capacity" and set(v.patterns) & set(patterns)]
        return not lacking & set(patterns) and all(v.status == MET for v in targets)
    fits = [s for s in stores if s != record and serves(s)]
    if not fits:
        return Role(role, None, patterns, f"no store measured here answers {', '.join(patterns)} within its target")
    best = max(fits, key=lambda s: rank(by_store[s]))
    evidence = [e for v in by_store[best] if v.kind == "capacity" and set(v.patterns) & set(patterns)
                for e in v.evidence[:1]]
    return Role(role, best, patterns, f"it answers {', '.join(patterns)} within the target(s), where {record} "
                "does not", evidence)


def _strategy(record: str, others: list[str], measured: dict[tuple[str, str], StrategyChoice]) -> StrategyChoice:
    """The measured strategy for the first derived store (the others follow the same way), or 'not measured'."""
    for other in others:
        if (record, other) in measured:
            return measured[(record, other)]
    return StrategyChoice(None, record, others[0], [], [], "")
