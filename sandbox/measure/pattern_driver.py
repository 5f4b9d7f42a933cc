"""Runs a model's mix against stores: each operation of the seeded pattern stream becomes one timed store call.

Every store is sent the same operation stream, each at its own pace. A pattern a store cannot answer is
left out of that store's run, counted per pattern and never faked (InfluxDB is append-only: it takes no
transitions), and so is an insert whose follow-up (`then`) it cannot answer. What each write asked for goes
to the update log (history.py) as values the checker (pattern_checker.py) understands: a state at a
version, decrements per target, increments per key.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field, replace
from itertools import islice
from typing import Any

from sandbox.measure.history import Bump, Inserted, ReadThenUpdate, StatusUpdate, StockTake, UpdateLog
from sandbox.measure.load import LoadPlan, LoadResult, drive, gather_all
from sandbox.measure.saturation import ClientLoad, CpuMeter, client_load
from sandbox.measure.timing import TimedCalls
from sandbox.stores.contract import Answerer, NotAnswerable
from sandbox.workload.dataset import Dataset
from sandbox.workload.distributions import KeyDistribution
from sandbox.workload.pattern_stream import Op, PatternStream, RootValues
from sandbox.workload.schema import Mix, Pattern

Call = Callable[[int, int], Awaitable[object]]


@dataclass
class MixOutcome:
    """One store's run of a mix, besides its histograms."""

    elapsed_s: float
    operations: int = 0
    left_out: dict[str, int] = field(default_factory=dict)  # pattern -> operations not sent (not answerable)
    not_answerable: dict[str, str] = field(default_factory=dict)  # pattern -> why
    orphaned: dict[str, int] = field(default_factory=dict)  # pattern -> left out: its instance's insert was
    inserted: int = 0  # roots the stream added (indexes loaded .. loaded + inserted - 1)
    not_found: int = 0  # gets that found nothing
    client: ClientLoad | None = None


class PatternCalls:
    """Turns a stream's operations into one store's timed calls."""

    def __init__(self, ts: TimedCalls, store: Any, ds: Dataset, patterns: list[Pattern], log: UpdateLog | None,
                 loaded: int = 0, roots: RootValues | None = None):
        self.ts, self.store, self.ds, self.log, self.loaded = ts, store, ds, log, loaded
        self.roots = roots or RootValues.for_patterns(ds, patterns)
        self.answerers: dict[str, Answerer | NotAnswerable] = {}
        for p in patterns:
            self.answerers[p.name] = NotAnswerable("inserts are writes") if p.kind == "insert" else store.answer(p)
            if p.then is not None:
                follow = ds.model.patterns[p.then]
                self.answerers[follow.name] = store.answer(follow)
        self.key = ds.model.root_entity.key
        version = ds.model.root_entity.version_field
        self.version = version.name if version else None
        self.state_field = next((p.field for p in ds.model.patterns.values()
                                 if p.kind == "transition" and p.entity == ds.model.root), None)
        self.not_found = 0
        self.noted: set[Any] = set()  # loaded instances whose first state the update log has
        self.unsent: set[Any] = set()  # keys of roots whose insert this store was not sent

    def refused(self, op: Op) -> str | None:
        """Why this store leaves the operation out, or None: a pattern it cannot answer, or an insert whose
        follow-up (`then`: the seat or the stock it takes) it cannot answer, since the insert alone is not the
        operation the application does."""
        p = op.pattern
        name = p.then if p.kind == "insert" else p.name
        if name is None:
            return None
        answerer = self.answerers[name]
        return answerer.reason if isinstance(answerer, NotAnswerable) else None

    def orphaned(self, op: Op) -> bool:
        """An operation on a root this store never got (its insert was left out): left out too, so a store is
        never asked about what it was not sent. (Queries over many instances still run: their answers only
        lack those.)"""
        if op.pattern.kind == "insert":
            if self.refused(op) is not None:
                self.unsent.add((op.params.instance or {})[self.key])
            return False
        return bool(self.unsent) and op.pattern.entity == self.ds.model.root and op.params.key in self.unsent

    def _note_loaded(self, op: Op) -> None:
        """A transition of an instance of the loaded data set: its generated state is version 1 of its history
        (the update checker's base), noted the first time the run moves it."""
        key = op.params.key
        if self.log is None or key in self.noted or op.pattern.entity != self.ds.model.root or op.index >= self.loaded:
            return
        self.noted.add(key)
        self.log.note_preloaded(str(key), str(self.roots.value(op.index, op.pattern.field or "")))

    def prepare(self, op: Op) -> Call:
        ts, p, params, name = self.ts, op.pattern, op.params, op.pattern.name
        if p.kind == "insert":
            return self._insert(op)
        answerer = self.answerers[name]
        assert not isinstance(answerer, NotAnswerable)
        if p.kind == "transition":
            self._note_loaded(op)
            if p.read_first:
                return self._read_modify_write(op, answerer)
            value: object = StatusUpdate(str(params.key), str(params.state), params.version)
            return lambda i, b: ts.call(name, lambda: answerer(params), (str(params.key),), i, b, value)
        if p.kind == "decrement":
            take = StockTake(str(op.index), tuple((str(k), a) for k, a in params.targets))
            return lambda i, b: ts.call(name, lambda: answerer(params), (), i, b, take)
        if p.kind == "increment":
            bump = Bump(str(params.key), params.amount)
            return lambda i, b: ts.call(name, lambda: answerer(params), (str(params.key),), i, b, bump)
        if p.kind == "get":
            async def get(i: int, b: int) -> None:
                ok, found = await ts.call(name, lambda: answerer(params), (str(params.key),), i, b)
                self.not_found += ok and found is None
            return get
        return lambda i, b: ts.call(name, lambda: answerer(params), (), i, b)

    def _read_modify_write(self, op: Op, move: Answerer) -> Call:
        """YCSB F: read the instance through the store's read path, then set the state that follows the one read
        at the version read + 1 (applied only over an older version: a change in between makes it refuse).
        One operation, timed whole; the update log learns what it set once it has read."""
        ts, store, p, key = self.ts, self.store, op.pattern, op.params.key
        version = self.ds.model.entity(p.entity).version_field
        assert version is not None and p.field is not None  # a transition's entity has one (model_checks)
        box = ReadThenUpdate(str(key))

        async def rmw() -> bool | None:
            record = await store.read(p.entity, key)
            if record is None:
                return None  # nothing to modify (counted as not found)
            state, at = record[p.field], int(record[version.name])
            to = p.next.get(state, state) if not p.sources else (p.to if state in p.sources else None)
            if to is None:
                return False  # not in a state the transition starts from
            box.update = StatusUpdate(str(key), str(to), at + 1)
            return bool(await move(replace(op.params, state=to, version=at + 1)))

        async def call(i: int, b: int) -> None:
            ok, applied = await ts.call(p.name, rmw, (str(key),), i, b, box)
            self.not_found += ok and applied is None
        return call

    def _insert(self, op: Op) -> Call:
        ts, store, inst, name = self.ts, self.store, op.params.instance, op.pattern.name
        assert inst is not None
        key = str(inst[self.key])
        value: object = Inserted(key) if self.state_field is None else \
            StatusUpdate(key, str(inst[self.state_field]), int(inst[self.version]) if self.version else 1)
        then = op.then
        if then is None:
            return lambda i, b: ts.call(name, lambda: store.write(inst), (key,), i, b, value)
        follow = self.answerers[then.pattern.name]
        assert not isinstance(follow, NotAnswerable)  # refused() leaves such inserts out
        take = StockTake(key, tuple((str(k), a) for k, a in then.params.targets))

        async def insert_then(i: int, b: int) -> object:
            ok, _ = await ts.call(name, lambda: store.write(inst), (key,), i, b, value)
            if ok:  # the seat or stock is taken for an instance the store holds; a failed insert takes none
                await ts.call(then.pattern.name, lambda: follow(then.params), (key,), value=take)
            return ok
        return insert_then


async def run_pattern_mix(ts: TimedCalls, store: Any, ds: Dataset, mix: Mix, loaded: int, seed: int, plan: LoadPlan,
                          operations: int | None = None, log: UpdateLog | None = None, meter: CpuMeter | None = None,
                          version_floor: int = 0, settle_ops: int = 64,
                          distribution: KeyDistribution | None = None, roots: RootValues | None = None) -> MixOutcome:
    """Send `operations` of the mix's stream (or until `plan.duration_s` ends) to one store under `plan`; `roots`:
    the field values of roots, shared by the stores of a run (made once: pattern_stream.RootValues)."""
    roots = roots or RootValues.for_patterns(ds, (ds.model.patterns[name] for name, _ in mix.weights))
    stream = PatternStream(ds, mix, loaded, seed, settle_ops, version_floor, distribution, roots)
    calls = PatternCalls(ts, store, ds, stream.patterns, log, loaded, roots)
    outcome = MixOutcome(0.0)
    meter = meter or CpuMeter()
    for name, answerer in calls.answerers.items():
        if isinstance(answerer, NotAnswerable) and ds.model.patterns[name].kind != "insert":
            outcome.not_answerable[name] = answerer.reason

    def work() -> Iterator[Call]:
        for op in islice(stream, operations):
            if calls.orphaned(op):
                outcome.orphaned[op.pattern.name] = outcome.orphaned.get(op.pattern.name, 0) + 1
                outcome.left_out[op.pattern.name] = outcome.left_out.get(op.pattern.name, 0) + 1
                continue
            if calls.refused(op) is not None:
                outcome.left_out[op.pattern.name] = outcome.left_out.get(op.pattern.name, 0) + 1
                continue
            outcome.operations += 1
            yield calls.prepare(op)

    def started(result: LoadResult) -> None:
        ts.measure_from_ns = result.measure_from_ns

    result = await drive(work(), lambda call, intended_ns, begun_ns: call(intended_ns, begun_ns), plan, started)
    outcome.elapsed_s = result.measured_s
    outcome.inserted = stream.count - loaded
    outcome.not_found = calls.not_found
    outcome.client = client_load(plan, result, meter)
    return outcome


async def run_pattern_mix_everywhere(stores: list[tuple[TimedCalls, Any]], ds: Dataset, mix: Mix, loaded: int,
                                     seed: int, plan: LoadPlan, operations: int | None = None,
                                     log: UpdateLog | None = None, version_floor: int = 0, settle_ops: int = 64,
                                     distribution: KeyDistribution | None = None) -> dict[str, MixOutcome]:
    """The same stream to every store, concurrently, each at its own pace."""
    meter = CpuMeter()
    roots = RootValues.for_patterns(ds, (ds.model.patterns[name] for name, _ in mix.weights))
    done = await gather_all(*(run_pattern_mix(ts, store, ds, mix, loaded, seed, plan, operations, log, meter,
                                              version_floor, settle_ops, distribution, roots) for ts, store in stores))
    return {ts.name: outcome for (ts, _), outcome in zip(stores, done, strict=True)}
