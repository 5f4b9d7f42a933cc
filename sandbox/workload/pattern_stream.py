"""The seeded operation stream of a model's mix: which pattern comes next, with which parameters.

A function of (seed, mix, data-set size) like the data: every store is sent the same operations. The
stream runs ahead of the stores' answers, so it keeps its own idea of each touched instance's state and
version (what a client would have asked for): a transition sets a state at the next version, applied by
a store only over an older one, so concurrent transitions of one instance cannot regress it and the
update checker knows which state each version stands for. A read-modify-write transition (`read_first`)
is the exception: its client takes state and version from what it reads, so the stream only picks the
instance. Reads and writes pick only instances inserted at least `settle_ops` operations earlier, so they
rarely race the insert that creates them.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from sandbox.workload.dataset import Dataset, Instance
from sandbox.workload.distributions import KeyDistribution, Sampler
from sandbox.workload.params import Params, ReadParams
from sandbox.workload.schema import Mix, Pattern

READS = ("get", "find", "range", "search", "aggregate")


class RootValues:
    """Field values of root instances by index, made once for every store of a run: a root instance can only be
    generated whole (hundreds of microseconds), and an operation usually needs one or two of its fields (a get its
    key, a transition its state). Only the `wanted` fields of instances a stream touched are kept, so memory
    follows the operations, not the data set."""

    def __init__(self, ds: Dataset, wanted: Iterable[str] = ()):
        self.ds = ds
        self.wanted = tuple(dict.fromkeys((ds.model.root_entity.key, *wanted)))
        self._values: dict[int, tuple[Any, ...]] = {}
        self._at = {f: i for i, f in enumerate(self.wanted)}

    @classmethod
    def for_patterns(cls, ds: Dataset, patterns: Iterable[Pattern]) -> RootValues:
        """What the patterns read of a root to make their parameters (key, where and range fields, a state)."""
        root = ds.model.root
        fields = [f for p in patterns if p.entity == root
                  for f in (*p.where, p.range, p.field if p.kind in ("search", "transition") else None) if f]
        return cls(ds, fields)

    def keep(self, index: int, instance: Instance) -> None:
        """A root the stream made whole anyway (an insert): its wanted fields, for later operations on it."""
        self._values[index] = tuple(instance.get(f) for f in self.wanted)

    def value(self, index: int, field: str) -> Any:
        at = self._at.get(field)
        if at is None:
            return self.ds.root(index)[field]  # not wanted by the mix: made again (slow, rare)
        values = self._values.get(index)
        if values is None:
            self.keep(index, self.ds.root(index))
            values = self._values[index]
        return values[at]

    def row(self, entity: str, index: int) -> Mapping[str, Any]:
        """Instance `index` of an entity as a mapping of its fields: reference data as held, a root from here."""
        if entity != self.ds.model.root:
            return self.ds.instance_of(entity, index)
        return _Row(self, index)


class _Row(Mapping[str, Any]):
    __slots__ = ("index", "source")

    def __init__(self, source: RootValues, index: int):
        self.source, self.index = source, index

    def __getitem__(self, field: str) -> Any:
        return self.source.value(self.index, field)

    def __iter__(self) -> Iterator[str]:
        return iter(self.source.wanted)

    def __len__(self) -> int:
        return len(self.source.wanted)


@dataclass(frozen=True, slots=True)
class Op:
    """One operation for every store: the pattern, its parameters, and the root index it concerns (-1: none)."""

    seq: int
    pattern: Pattern
    params: Params
    index: int = -1
    then: Op | None = None  # insert: the decrement / increment to run once the insert is acknowledged


class PatternStream:
    """Operations of `mix` over a data set of `loaded` roots (indexes 0 .. loaded-1, written before)."""

    def __init__(self, ds: Dataset, mix: Mix, loaded: int, seed: int, settle_ops: int = 64,
                 version_floor: int = 0, distribution: KeyDistribution | None = None, roots: RootValues | None = None):
        self.ds, self.mix = ds, mix
        self.model = ds.model
        self.count = loaded  # roots that exist or are on their way: an insert takes the next index
        self.settled = loaded
        self.settle_ops = settle_ops
        self.version_floor = version_floor  # instances not touched here are at this version + 1
        self.rng = random.Random(f"{seed}:mix:{mix.name}")
        self.patterns = [self.model.patterns[name] for name, _ in mix.weights]
        # shared by the streams of one run (every store's is the same): see RootValues
        self.roots = roots or RootValues.for_patterns(ds, self.patterns)
        self.cum: list[float] = []
        total = 0.0
        for _, share in mix.weights:
            total += share
            self.cum.append(total)
        # `distribution`: one key distribution for every pattern of the mix instead of each pattern's own
        self.samplers: dict[str, Sampler] = {
            p.name: (distribution or KeyDistribution(p.distribution, p.skew)).validated().sampler(seed)
            for p in self.patterns}
        self.reads = {p.name: ReadParams(ds, p, seed, distribution, self.roots.row)
                      for p in self.patterns if p.kind in READS}
        self.inserted: deque[tuple[int, int]] = deque()  # (seq, index) not yet settled
        self.state: dict[tuple[str, int], tuple[str, int]] = {}  # (entity, index) -> (state, version) asked for
        self.pools: dict[tuple[str, str], list[int]] = {}  # (pattern, source state) -> indexes in that state
        self.joining: deque[tuple[int, str, int]] = deque()  # (seq, state, index) to join pools once settled
        self.seq = 0

    def __iter__(self) -> Iterator[Op]:
        while True:
            yield self.next()

    def next(self) -> Op:
        seq = self.seq
        self.seq += 1
        self._settle(seq)
        r = self.rng.random()
        pattern = self.patterns[-1]
        for candidate, edge in zip(self.patterns, self.cum, strict=True):
            if r < edge:
                pattern = candidate
                break
        return self._make(seq, pattern)

    def _settle(self, seq: int) -> None:
        horizon = seq - self.settle_ops
        while self.inserted and self.inserted[0][0] <= horizon:
            self.settled = self.inserted.popleft()[1] + 1
        while self.joining and self.joining[0][0] <= horizon:
            _, state, index = self.joining.popleft()
            self._join(state, index)

    def _join(self, state: str, index: int) -> None:
        if self.state.get((self.model.root, index), (state,))[0] != state:
            return  # moved on in the meantime
        for p in self.patterns:
            if p.kind == "transition" and state in p.sources:
                self.pools.setdefault((p.name, state), []).append(index)

    def _pick(self, p: Pattern, n: int) -> int:
        return self.samplers[p.name].pick(self.rng, max(1, n))

    def _count(self, entity: str) -> int:
        return self.settled if entity == self.model.root else self.ds.count_of(entity)

    def _make(self, seq: int, p: Pattern) -> Op:
        if p.kind in READS:
            return Op(seq, p, self.reads[p.name].next(self._count(p.entity)))
        if p.kind == "insert":
            return self._insert(seq, p)
        if p.kind == "transition":
            return self._transition(seq, p)
        if p.kind == "decrement":
            index = self._pick(p, self.settled)
            return Op(seq, p, Params(targets=self.targets(p, self.ds.root(index))), index)
        e = self.model.entity(p.entity)  # increment
        index = self._pick(p, self._count(p.entity))
        return Op(seq, p, Params(key=self.roots.row(p.entity, index)[e.key], amount=p.amount), index)

    def targets(self, p: Pattern, root: Instance) -> tuple[tuple[Any, int], ...]:
        """A decrement's (target key, amount) pairs taken from a root instance (its items, its slot)."""
        def values(path: str | None) -> list[Any]:
            if path is None:
                return []
            head, _, rest = path.partition(".")
            return [c[rest] for c in root[head]] if rest else [root[head]]
        keys = values(p.targets)
        amounts = values(p.by) or [p.amount] * len(keys)
        return tuple(zip(keys, amounts, strict=True))

    def _insert(self, seq: int, p: Pattern) -> Op:
        index = self.count
        self.count += 1
        self.inserted.append((seq, index))
        inst = self.ds.root(index)
        self.roots.keep(index, inst)
        if p.set:
            inst = {**inst, **p.set}
        e = self.model.root_entity
        version = e.version_field
        for t in self._transitions_on(e.name):
            state = inst[t.field]  # type: ignore[index]
            self.state[(e.name, index)] = (state, inst[version.name] if version else 1)
            self.joining.append((seq, state, index))
            break
        then = None
        if p.then is not None:
            follow = self.model.patterns[p.then]
            then = Op(seq, follow, Params(targets=self.targets(follow, inst)), index)
        return Op(seq, p, Params(instance=inst), index, then)

    def _transitions_on(self, entity: str) -> list[Pattern]:
        return [t for t in self.patterns if t.kind == "transition" and t.entity == entity]

    def current(self, p: Pattern, index: int) -> tuple[str, int]:
        key = (p.entity, index)
        if key not in self.state:
            self.state[key] = (self.roots.row(p.entity, index)[p.field or ""], 1 + self.version_floor)
        return self.state[key]

    def _transition(self, seq: int, p: Pattern) -> Op:
        e = self.model.entity(p.entity)
        if p.read_first:  # the client reads state and version, then sets the next: only the instance is chosen
            picked = self._pick(p, self._count(p.entity))
            return Op(seq, p, Params(key=self.roots.row(p.entity, picked)[e.key]), picked)
        if p.sources:
            index = self._from_pool(p)
            if index is None:  # nothing in a source state yet: the mix inserts instead, if it can
                insert = next((q for q in self.patterns if q.kind == "insert"), None)
                if insert is not None:
                    return self._insert(seq, insert)
                index = self._pick(p, self._count(p.entity))
            to = p.to
        else:
            index = self._pick(p, self._count(p.entity))
            to = p.next.get(self.current(p, index)[0], self.current(p, index)[0])
        _, version = self.current(p, index)
        assert to is not None
        self.state[(p.entity, index)] = (to, version + 1)
        self.joining.append((seq, to, index))
        key = self.roots.row(p.entity, index)[e.key]
        return Op(seq, p, Params(key=key, state=to, version=version + 1), index)

    def _from_pool(self, p: Pattern) -> int | None:
        while candidates := [s for s in p.sources if self.pools.get((p.name, s))]:
            source = candidates[self.rng.randrange(len(candidates))]
            pool = self.pools[(p.name, source)]
            at = self.rng.randrange(len(pool))
            pool[at], pool[-1] = pool[-1], pool[at]
            index = pool.pop()
            if self.current(p, index)[0] == source:  # another transition may have moved it on
                return index
        return None
