"""After a model's mix: is each store's final state one its clients' answers allow?

Transitions. Every transition sets a state at a version and is applied only over an older version, so the
final state is the one of the highest version applied. Applied for sure: the acknowledged ones; maybe: the
ones whose outcome is unknown (timeout, broken connection). The legal final states of an instance are
therefore the last acknowledged version's, or that of any unknown-outcome version above it (or, when
nothing was acknowledged, no instance at all). Anything else is classified (docs/workloads.md): an older
state than the last acknowledged transition is a lost update.

Decrements (stock, seats): per target, final = initial - acknowledged - some of the unknown ones, and never
below the floor. More left than that is a lost decrement (two clients read the same value and both wrote
back their own result), less is taken without anybody being told (oversold, overbooked).

Increments (likes): final = initial + acknowledged + some of the unknown ones; fewer is a lost increment, more
is one nobody asked for. Inserts that set no state (readings, posts): an acknowledged one must be there, a
failed one must not. Final states are read back through the store's own read path, only the touched
instances.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from sandbox.measure.history import OrderUpdates, StockTakes, UpdateLog
from sandbox.workload.dataset import Dataset
from sandbox.workload.schema import Entity, Model, Pattern

EXAMPLES = 5
READ_BACK_IN_FLIGHT = 8  # read-backs at once per store (the stores' default pool)
SCAN_ABOVE = 10  # read back by scanning when the touched instances are more than 1/10 of them


@dataclass(frozen=True, slots=True)
class FinalState:
    """An instance's state as a store holds it after the run; version None where the store does not say."""

    status: str
    version: int | None = None


class StateVerdict(StrEnum):
    OK = "ok"  # the last acknowledged transition's state
    OK_UNKNOWN = "ok_unknown"  # the state of a transition whose outcome was unknown: it landed
    ABSENT_UNKNOWN = "absent_unknown"  # never acknowledged, not there: allowed
    LOST_UPDATE = "lost_update"  # an older state than the last acknowledged transition
    FAILED_BUT_APPLIED = "failed_but_applied"  # the state of a transition the store said had failed
    IMPOSSIBLE = "impossible"  # a state no client asked for at that version
    MISSING = "missing"  # acknowledged, but the instance is gone


class FloorVerdict(StrEnum):
    OK = "ok"  # initial - acknowledged, less at most the unknown ones
    LOST_DECREMENT = "lost_decrement"  # more left than acknowledged decrements allow
    OVERSOLD = "oversold"  # less left than even every unknown decrement explains (overbooked)
    NEGATIVE = "negative"  # below the floor
    MISSING = "missing"  # the target could not be found


class InsertVerdict(StrEnum):
    OK = "ok"  # acknowledged (or unknown) and there
    ABSENT_UNKNOWN = "absent_unknown"  # its outcome unknown, not there: allowed
    ABSENT_FAILED = "absent_failed"  # the store said it failed, and it is not there: right
    LOST_INSERT = "lost_insert"  # acknowledged, but not there
    FAILED_BUT_PRESENT = "failed_but_present"  # the store said it failed, yet it is there


class CounterVerdict(StrEnum):
    OK = "ok"
    LOST_INCREMENT = "lost_increment"  # fewer than the acknowledged increments
    EXTRA_INCREMENT = "extra_increment"  # more than every increment asked for
    MISSING = "missing"


STATE_FINDINGS = (StateVerdict.LOST_UPDATE, StateVerdict.FAILED_BUT_APPLIED, StateVerdict.IMPOSSIBLE,
                  StateVerdict.MISSING)
FLOOR_FINDINGS = (FloorVerdict.LOST_DECREMENT, FloorVerdict.OVERSOLD, FloorVerdict.NEGATIVE, FloorVerdict.MISSING)
COUNTER_FINDINGS = (CounterVerdict.LOST_INCREMENT, CounterVerdict.EXTRA_INCREMENT, CounterVerdict.MISSING)
INSERT_FINDINGS = (InsertVerdict.LOST_INSERT, InsertVerdict.FAILED_BUT_PRESENT)


def legal_states(updates: OrderUpdates) -> set[tuple[int, str]]:
    """The (version, state) pairs the instance may legally hold; empty when absence is the only one."""
    base = updates.applied
    legal = {(base, updates.asked[base])} if base else set()
    return legal | {(v, updates.asked[v]) for v in updates.unknown if v > base}


def classify_state(updates: OrderUpdates, final: FinalState | None) -> StateVerdict:
    if final is None:
        return StateVerdict.MISSING if updates.applied else StateVerdict.ABSENT_UNKNOWN
    legal = legal_states(updates)
    if final.version is not None:
        pair = (final.version, final.status)
        if pair in legal:
            return StateVerdict.OK if final.version == updates.applied else StateVerdict.OK_UNKNOWN
        if updates.asked.get(final.version) == final.status:
            if final.version < updates.applied:
                return StateVerdict.LOST_UPDATE
            if final.version in updates.failed:
                return StateVerdict.FAILED_BUT_APPLIED
        return StateVerdict.IMPOSSIBLE
    # No version kept: judge by state alone (a repeated state is given the benefit of the doubt).
    if updates.applied and final.status == updates.asked[updates.applied]:
        return StateVerdict.OK
    if final.status in {s for _, s in legal}:
        return StateVerdict.OK_UNKNOWN
    older = {s for v, s in updates.asked.items() if v < updates.applied}
    if final.status in older:
        return StateVerdict.LOST_UPDATE
    if final.status in {updates.asked[v] for v in updates.failed}:
        return StateVerdict.FAILED_BUT_APPLIED
    return StateVerdict.IMPOSSIBLE


def classify_floor(initial: int, acknowledged: int, unknown: int, final: int | None) -> FloorVerdict:
    """A decremented value, all as amounts above the floor."""
    if final is None:
        return FloorVerdict.MISSING
    if final < 0:
        return FloorVerdict.NEGATIVE
    if final > initial - acknowledged:
        return FloorVerdict.LOST_DECREMENT
    if final < initial - acknowledged - unknown:
        return FloorVerdict.OVERSOLD
    return FloorVerdict.OK


def classify_insert(outcome: str, present: bool) -> InsertVerdict:
    """An insert that sets no state: `outcome` as the history has it (ok, fail, info)."""
    if present:
        return InsertVerdict.FAILED_BUT_PRESENT if outcome == "fail" else InsertVerdict.OK
    return {"ok": InsertVerdict.LOST_INSERT, "fail": InsertVerdict.ABSENT_FAILED}.get(outcome,
                                                                                    InsertVerdict.ABSENT_UNKNOWN)


def classify_counter(initial: int, acknowledged: int, unknown: int, final: int | None) -> CounterVerdict:
    if final is None:
        return CounterVerdict.MISSING
    if final < initial + acknowledged:
        return CounterVerdict.LOST_INCREMENT
    if final > initial + acknowledged + unknown:
        return CounterVerdict.EXTRA_INCREMENT
    return CounterVerdict.OK


@dataclass
class Tally:
    """Counts per verdict and a few example keys (with what was found) for the ones that are findings."""

    counts: dict[str, int] = field(default_factory=dict)
    examples: dict[str, list[str]] = field(default_factory=dict)

    def add(self, verdict: str, key: str, detail: str, finding: bool) -> None:
        self.counts[verdict] = self.counts.get(verdict, 0) + 1
        if finding and len(shown := self.examples.setdefault(verdict, [])) < EXAMPLES:
            shown.append(f"{key}: {detail}")

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def of(self, verdicts: Iterable[str]) -> int:
        return sum(self.counts.get(v, 0) for v in verdicts)


@dataclass
class PatternCheck:
    store: str
    states: Tally = field(default_factory=Tally)
    decrements: Tally = field(default_factory=Tally)
    increments: Tally = field(default_factory=Tally)
    inserts: Tally = field(default_factory=Tally)  # inserts that set no state (those that do are in `states`)
    refused: int = 0  # decrements the store refused (not enough left, or an optimistic one lost a race)
    checked: tuple[str, ...] = ()  # the patterns whose effects were read back
    error: str | None = None
    skipped: str | None = None  # why nothing was checked (the store answers none of the mix's writes)

    @property
    def findings(self) -> int:
        return (self.states.of(STATE_FINDINGS) + self.decrements.of(FLOOR_FINDINGS)
                + self.increments.of(COUNTER_FINDINGS) + self.inserts.of(INSERT_FINDINGS))

    @property
    def has_findings(self) -> bool:
        return self.error is not None or self.findings > 0

    @property
    def examples(self) -> dict[str, list[str]]:
        return {**self.states.examples, **self.decrements.examples, **self.increments.examples,
                **self.inserts.examples}

    def to_json(self) -> dict[str, Any]:
        return {"findings": self.findings, "error": self.error, "skipped": self.skipped, "checked": list(self.checked),
                "refused_decrements": self.refused,
                "states": self.states.counts, "state_examples": self.states.examples,
                "decrements": self.decrements.counts, "decrement_examples": self.decrements.examples,
                "increments": self.increments.counts, "increment_examples": self.increments.examples,
                "inserts": self.inserts.counts, "insert_examples": self.inserts.examples}


def written_by(model: Model, patterns: Iterable[Pattern]) -> list[Pattern]:
    """The mix's patterns that change state, with what inserts run after them (`then`), in mix order."""
    out: list[Pattern] = []
    for p in patterns:
        for q in (p, model.patterns[p.then] if p.then else None):
            if q is not None and q.kind in ("insert", "transition", "decrement", "increment") and q not in out:
                out.append(q)
    return out


async def check_store(name: str, store: Any, ds: Dataset, log: UpdateLog, patterns: list[Pattern],
                      upto: int | None = None, in_flight: int = READ_BACK_IN_FLIGHT) -> PatternCheck:
    """Read back every instance the mix changed on one store and classify it; `patterns`: the ones the store was
    sent (what it could answer); `upto`: the roots that exist after the mix (the loaded ones and those it
    inserted)."""
    result = PatternCheck(name)
    model = ds.model
    writes = written_by(model, patterns)
    result.checked = tuple(p.name for p in writes)
    try:
        transition = next((p for p in writes if p.kind == "transition"), None)
        if transition is not None:
            entity = model.entity(transition.entity)
            await _states(result, store, model, transition, log.of(name), in_flight,
                          ds.count_of(entity.name) if entity.role == "reference" else upto)
        decrement = next((p for p in writes if p.kind == "decrement"), None)
        if decrement is not None and name in log.stock:
            result.refused = log.stock[name].refused
            await _counters(result.decrements, store, ds, decrement, log.stock[name], False, upto, in_flight)
        increment = next((p for p in writes if p.kind == "increment"), None)
        if increment is not None and name in log.bumps:
            await _counters(result.increments, store, ds, increment, log.bumps[name], True, upto, in_flight)
        if name in log.inserts:
            await _inserts(result, store, model.root_entity, log.inserts[name], in_flight, upto)
    except Exception as exc:  # a store that cannot be read back is a finding, not a crash
        result.error = f"{type(exc).__name__}: {exc}"[:300]
    return result


async def _read_all(store: Any, entity: Entity, keys: list[str], in_flight: int,
                    each: Callable[[str, dict | None], None], instances: int | None = None) -> None:
    """each(key, record or None) for every key: store.read of each, `in_flight` at a time, or, when that would read
    more than a tenth of the entity's `instances`, one scan (a store that finds an instance by a field rather than
    by a key, as InfluxDB, scans for every read)."""
    if instances is not None and len(keys) * SCAN_ABOVE > instances:
        wanted = set(keys)
        found: dict[str, dict] = {}
        async for record in store.scan(entity.name):
            key = str(record.get(entity.key))
            if key in wanted:
                found[key] = record
        for key in keys:
            each(key, found.get(key))
        return
    for start in range(0, len(keys), in_flight):
        chunk = keys[start:start + in_flight]
        records: list[Awaitable[Any]] = [store.read(entity.name, key) for key in chunk]
        for key, record in zip(chunk, await asyncio.gather(*records), strict=True):
            each(key, record)


async def _states(result: PatternCheck, store: Any, model: Model, p: Pattern, updates: Mapping[str, OrderUpdates],
                  in_flight: int, instances: int | None) -> None:
    version = model.entity(p.entity).version_field

    def judge(key: str, record: dict | None) -> None:
        entry = updates[key]
        final = None if record is None else FinalState(str(record.get(p.field)),
                                                        record.get(version.name) if version else None)
        verdict = classify_state(entry, final)
        found = "absent" if final is None else f"{final.status} v{final.version}"
        legal = ", ".join(f"{s} v{v}" for v, s in sorted(legal_states(entry))) or "absent"
        result.states.add(verdict.value, key, f"found {found}, legal: {legal}", verdict in STATE_FINDINGS)

    await _read_all(store, model.entity(p.entity), list(updates), in_flight, judge, instances)


async def _counters(tally: Tally, store: Any, ds: Dataset, p: Pattern, takes: StockTakes, up: bool,
                    upto: int | None, in_flight: int) -> None:
    entity = ds.model.entity(p.entity)
    field_name = p.field or ""
    initial = {str(inst[entity.key]): inst[field_name] for inst in _instances(ds, p.entity, takes, upto)}

    def judge(key: str, record: dict | None) -> None:
        final = None if record is None else record.get(field_name)
        ack, unknown = takes.acknowledged.get(key, 0), takes.unknown.get(key, 0)
        verdict: StrEnum
        if up:
            verdict = classify_counter(initial[key], ack, unknown, final)
            legal = f"{initial[key] + ack}..{initial[key] + ack + unknown}"
            finding = verdict in COUNTER_FINDINGS
        else:
            verdict = classify_floor(initial[key] - p.floor, ack, unknown, None if final is None else final - p.floor)
            legal = f"{max(initial[key] - ack - unknown, p.floor)}..{initial[key] - ack}"
            finding = verdict in FLOOR_FINDINGS
        tally.add(verdict.value, key, f"found {final}, legal: {legal}", finding)

    await _read_all(store, entity, sorted(set(takes.acknowledged) | set(takes.unknown)), in_flight, judge,
                    ds.count_of(p.entity) if entity.role == "reference" else upto)


async def _inserts(result: PatternCheck, store: Any, root: Entity, inserted: Mapping[str, str], in_flight: int,
                   instances: int | None) -> None:
    def judge(key: str, record: dict | None) -> None:
        verdict = classify_insert(inserted[key], record is not None)
        result.inserts.add(verdict.value, key, f"{'there' if record else 'absent'} after an insert answered "
                           f"{inserted[key]}", verdict in INSERT_FINDINGS)

    await _read_all(store, root, list(inserted), in_flight, judge, instances)


def _instances(ds: Dataset, entity: str, takes: StockTakes, upto: int | None) -> list[dict]:
    """The generated instances a decrement or increment touched (reference data is held; roots by key)."""
    if ds.model.entity(entity).role == "reference":
        return ds.reference[entity]
    wanted = set(takes.acknowledged) | set(takes.unknown)
    key = ds.model.entity(entity).key
    return [inst for inst in ds.roots(0, upto) if str(inst[key]) in wanted]
