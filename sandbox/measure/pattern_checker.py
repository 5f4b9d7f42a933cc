"""After a model's mix: is each store's final state one its clients' answers allow?

Transitions (a state set at a version, applied only over an older one) are judged as update_checker.py
judges order updates: the legal final states are the last acknowledged version's, or an unknown-outcome
version's above it. Decrements (stock, seats): final = initial - acknowledged - some of the unknown ones,
never below the floor. Increments (likes): final = initial + acknowledged + some of the unknown ones;
fewer is a lost increment, more is one nobody asked for. Final states are read back through the store's
own read path, one instance at a time (only the touched ones).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sandbox.measure.history import StockTakes, UpdateLog
from sandbox.measure.update_checker import (
    ORDER_FINDINGS,
    STOCK_FINDINGS,
    FinalState,
    Tally,
    classify_order,
    classify_stock,
    legal_states,
)
from sandbox.workload.dataset import Dataset
from sandbox.workload.schema import Model, Pattern


class CounterVerdict(StrEnum):
    OK = "ok"
    LOST_INCREMENT = "lost_increment"  # fewer than the acknowledged increments
    EXTRA_INCREMENT = "extra_increment"  # more than every increment asked for
    MISSING = "missing"


COUNTER_FINDINGS = (CounterVerdict.LOST_INCREMENT, CounterVerdict.EXTRA_INCREMENT, CounterVerdict.MISSING)


def classify_counter(initial: int, acknowledged: int, unknown: int, final: int | None) -> CounterVerdict:
    if final is None:
        return CounterVerdict.MISSING
    if final < initial + acknowledged:
        return CounterVerdict.LOST_INCREMENT
    if final > initial + acknowledged + unknown:
        return CounterVerdict.EXTRA_INCREMENT
    return CounterVerdict.OK


@dataclass
class PatternCheck:
    store: str
    states: Tally = field(default_factory=Tally)
    decrements: Tally = field(default_factory=Tally)
    increments: Tally = field(default_factory=Tally)
    error: str | None = None

    @property
    def findings(self) -> int:
        return (sum(self.states.counts.get(v, 0) for v in ORDER_FINDINGS)
                + sum(self.decrements.counts.get(v, 0) for v in STOCK_FINDINGS)
                + sum(self.increments.counts.get(v, 0) for v in COUNTER_FINDINGS))

    @property
    def has_findings(self) -> bool:
        return self.error is not None or self.findings > 0

    def to_json(self) -> dict[str, Any]:
        return {"findings": self.findings, "error": self.error,
                "states": self.states.counts, "state_examples": self.states.examples,
                "decrements": self.decrements.counts, "decrement_examples": self.decrements.examples,
                "increments": self.increments.counts, "increment_examples": self.increments.examples}


def _first(model: Model, kind: str, entity: str | None = None) -> Pattern | None:
    return next((p for p in model.patterns.values() if p.kind == kind and (entity is None or p.entity == entity)), None)


async def check_store(name: str, store: Any, ds: Dataset, log: UpdateLog, patterns: list[Pattern],
                      upto: int | None = None) -> PatternCheck:
    """Read back every instance the mix changed on one store and classify it; `upto`: the roots that exist
    after the mix (the loaded ones and those it inserted)."""
    result = PatternCheck(name)
    model = ds.model
    try:
        transition = next((p for p in patterns if p.kind == "transition"), None)
        if transition is not None:
            await _states(result, store, model, transition, log.of(name))
        decrement = next((p for p in patterns if p.kind == "decrement"), None) or next(
            (model.patterns[p.then] for p in patterns if p.then and model.patterns[p.then].kind == "decrement"), None)
        if decrement is not None and name in log.stock:
            await _counters(result.decrements, store, ds, decrement, log.stock[name], False, upto)
        increment = next((p for p in patterns if p.kind == "increment"), None)
        if increment is not None and name in log.bumps:
            await _counters(result.increments, store, ds, increment, log.bumps[name], True, upto)
    except Exception as exc:  # a store that cannot be read back is a finding, not a crash
        result.error = f"{type(exc).__name__}: {exc}"[:300]
    return result


async def _states(result: PatternCheck, store: Any, model: Model, p: Pattern, updates: dict) -> None:
    entity = model.entity(p.entity)
    version = entity.version_field
    for key, entry in updates.items():
        record = await store.read(p.entity, key)
        final = None if record is None else FinalState(str(record.get(p.field)),
                                                        record.get(version.name) if version else None)
        verdict = classify_order(entry, final)
        found = "absent" if final is None else f"{final.status} v{final.version}"
        legal = ", ".join(f"{s} v{v}" for v, s in sorted(legal_states(entry))) or "absent"
        result.states.add(verdict.value, key, f"found {found}, legal: {legal}", verdict in ORDER_FINDINGS)


async def _counters(tally: Tally, store: Any, ds: Dataset, p: Pattern, takes: StockTakes, up: bool,
                    upto: int | None) -> None:
    entity = ds.model.entity(p.entity)
    field_name = p.field or ""
    initial = {str(inst[entity.key]): inst[field_name] for inst in _instances(ds, p.entity, takes, upto)}
    for key in sorted(set(takes.acknowledged) | set(takes.unknown)):
        record = await store.read(p.entity, key)
        final = None if record is None else record.get(field_name)
        ack, unknown = takes.acknowledged.get(key, 0), takes.unknown.get(key, 0)
        if up:
            verdict: StrEnum = classify_counter(initial[key], ack, unknown, final)
            legal = f"{initial[key] + ack}..{initial[key] + ack + unknown}"
            finding = verdict in COUNTER_FINDINGS
        else:
            verdict = classify_stock(initial[key] - p.floor, ack, unknown, None if final is None else final - p.floor)
            legal = f"{max(initial[key] - ack - unknown, p.floor)}..{initial[key] - ack}"
            finding = verdict in STOCK_FINDINGS
        tally.add(verdict.value, key, f"found {final}, legal: {legal}", finding)


def _instances(ds: Dataset, entity: str, takes: StockTakes, upto: int | None) -> list[dict]:
    """The generated instances a decrement or increment touched (reference data is held; roots by key)."""
    if ds.model.entity(entity).role == "reference":
        return ds.reference[entity]
    wanted = set(takes.acknowledged) | set(takes.unknown)
    key = ds.model.entity(entity).key
    return [inst for inst in ds.roots(0, upto) if str(inst[key]) in wanted]
