"""What a pattern's operation carries (Params) and an aggregate answers (AggregateRow), and the parameters of
read patterns (get, find, range, search, aggregate) drawn from existing instances.

Every parameter is taken from an instance the store holds, picked by the pattern's distribution, so a
query finds something; a range window starts at that instance's value of the range field and covers
1..span slots of its spaced timestamp (or `width` of a number), as YCSB E's scans do.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

from sandbox.workload.dataset import Dataset, Instance
from sandbox.workload.distributions import KeyDistribution, Sampler
from sandbox.workload.schema import Pattern


@dataclass(frozen=True)
class Params:
    """One operation's parameters; which are set depends on the pattern's kind (docs/models.md)."""

    key: Any = None  # get, transition, increment
    values: Mapping[str, Any] = field(default_factory=dict)  # find / range / aggregate: where-field -> value (a
    # list for a `within` range)
    window: tuple[Any, Any] | None = None  # range / aggregate: [low, high) on the pattern's range field
    word: str | None = None  # search
    instance: Instance | None = None  # insert
    state: str | None = None  # transition: the state to set
    version: int = 0  # transition: the version it is set at (applied only over an older one)
    targets: tuple[tuple[Any, int], ...] = ()  # decrement: (key, amount) per target, all or none
    amount: int = 1  # increment


@dataclass(frozen=True)
class AggregateRow:
    """One group of an aggregate pattern: its group values (bucket start first, if bucketed) and figures."""

    group: tuple[Any, ...]
    count: int
    sums: tuple[Any, ...] = ()  # Decimal where the store sums exactly, float where it cannot
    avgs: tuple[float, ...] = ()


def spacing_of(ds: Dataset, entity: str, field: str) -> int | None:
    """Milliseconds between consecutive instances of a spaced timestamp (the dataset's override for the root)."""
    f = ds.model.entity(entity).field(field)
    if f is None or f.gen is None or f.gen.name != "spaced":
        return None
    if ds.model.entity(entity).role == "root" and ds.sizes.spacing_ms is not None:
        return ds.sizes.spacing_ms
    return int(f.gen.params.get("spacing_ms", 10))


class ReadParams:
    """Draws Params for one read pattern over the first `n` instances of its entity."""

    def __init__(self, ds: Dataset, pattern: Pattern, seed: int, distribution: KeyDistribution | None = None,
                 rows: Callable[[str, int], Mapping[str, Any]] | None = None):
        self.ds, self.p = ds, pattern
        # rows(entity, index): an instance's fields; a mix passes a cache of them (pattern_stream.RootValues)
        self.rows = rows or ds.instance_of
        self.rng = random.Random(f"{seed}:params:{pattern.name}")
        # `distribution`: instead of the pattern's own (a mix run with one distribution for every pattern)
        keys = distribution or KeyDistribution(pattern.distribution, pattern.skew)
        self.sampler: Sampler = keys.validated().sampler(seed)
        self.spacing = spacing_of(ds, pattern.entity, pattern.range) if pattern.range else None

    def instance(self, n: int) -> Mapping[str, Any]:
        return self.rows(self.p.entity, self.sampler.pick(self.rng, max(1, n)))

    def next(self, n: int) -> Params:
        p, rng = self.p, self.rng
        if p.kind == "get":
            return Params(key=self.instance(n)[self.ds.model.entity(p.entity).key])
        anchor = self.instance(n)
        values: dict[str, Any] = {f: anchor[f] for f in p.where}
        if p.within is not None:
            owner, collection, field = p.within.split(".")
            source = self.ds.instance_of(owner, self.sampler.pick(rng, self.ds.count_of(owner)))
            values = {p.where[0]: [child[field] for child in source[collection]]}
        if p.kind == "search":
            words = str(anchor[p.field or ""]).split()
            return Params(word=words[rng.randrange(len(words))] if words else "")
        window = None
        if p.range is not None:
            low = anchor[p.range]
            if self.spacing is not None:
                window = (low, low + timedelta(milliseconds=rng.randint(1, p.span) * self.spacing))
            else:
                width = Decimal(str(p.width)) if isinstance(low, Decimal) else type(low)(p.width)
                window = (low, low + width)
        return Params(values=values, window=window)
