"""The origin behind the cache: root instances read by key and written at a new version through the model store
of the store playing the origin role (its kind's `cache_origin`, e.g. stores/postgres/cache_origin.py, which adds
the server's own count of what it ran), and who loaded what.

A load costs `recompute_ms` before the read (standing for the expensive query a cache exists to avoid), then
the model store's read of the instance by key; a write is the root's version-gated upsert at the next version
(its version field is what the stale-read check compares).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sandbox.errors import UsageError
from sandbox.stores.contract import Upsert
from sandbox.workload.dataset import Dataset, Instance, instance_json


@dataclass(frozen=True)
class Value:
    """What the cache holds for a key: the origin's instance at a version (as JSON), and XFetch's bookkeeping."""

    version: int
    record: str  # the instance as the origin's model store read it, canonical JSON
    delta_ms: float = 0.0  # how long the load that produced it took (XFetch's delta)
    expiry_ms: float = 0.0  # wall-clock epoch ms at which it expires (XFetch compares against it)

    def encode(self) -> str:
        return f"{self.version}|{self.delta_ms:.3f}|{self.expiry_ms:.3f}|{self.record}"

    @staticmethod
    def decode(text: str) -> Value:
        version, delta, expiry, record = text.split("|", 3)
        return Value(int(version), record, float(delta), float(expiry))


@dataclass
class Episodes:
    """Origin loads of each key grouped into episodes: a load that starts while another load of the same
    key is in flight joins its episode. Loads per episode is the stampede (1 = no stampede)."""

    inflight: dict[str, int] = field(default_factory=dict)
    sizes: dict[str, list[int]] = field(default_factory=dict)

    def begin(self, key: str) -> None:
        if self.inflight.get(key, 0) == 0:
            self.sizes.setdefault(key, []).append(0)
        self.sizes[key][-1] += 1
        self.inflight[key] = self.inflight.get(key, 0) + 1

    def end(self, key: str) -> None:
        self.inflight[key] -= 1

    def of(self, key: str) -> list[int]:
        return self.sizes.get(key, [])


Counter = Callable[[], Awaitable[int | None]]  # the server's own count of what it ran (a cross-check), or None


async def uncounted() -> int | None:
    return None


class Origin:
    """Reads and writes the first root instances of the run's data in the origin's model store; counts every
    query it sends."""

    def __init__(self, store: Any, dataset: Dataset, keys: Sequence[Any], name: str, recompute_ms: float = 0.0,
                 transactions: Counter = uncounted, committed: dict[Any, int] | None = None):
        """committed: what earlier origins of the same data acknowledged (their writes are in the store)."""
        root = dataset.model.root_entity
        version = root.version_field
        if version is None or not isinstance(store, Upsert):
            raise UsageError(f"cache-aside: the origin {name} needs the root's version field and a version-gated "
                             f"upsert (model {dataset.model.name}: {root.name} has "
                             f"{'no version field' if version is None else 'no upsert in this design'})")
        self.store: Any = store  # a model store (read) with Upsert
        self.dataset = dataset
        self.entity, self.version = root.name, version.name
        self.index = {key: i for i, key in enumerate(keys)}  # key -> its root's index (writes make it again)
        self.name = name  # the store playing the origin, for messages
        self.recompute_s = recompute_ms / 1000
        self.transactions = transactions
        self.loads = 0
        self.writes = 0
        self.refused = 0  # writes a concurrent write of the same version got in before (version-gated)
        self.episodes = Episodes()
        self.committed = {} if committed is None else committed  # key -> the newest version acknowledged

    async def load(self, key: Any, ttl_ms: float) -> Value:
        self.loads += 1
        self.episodes.begin(key)
        started = time.perf_counter()
        try:
            if self.recompute_s:
                await asyncio.sleep(self.recompute_s)
            record = await self.store.read(self.entity, key)
        finally:
            self.episodes.end(key)
        if record is None:
            raise LookupError(f"{self.entity} {key} is not in {self.name}")
        delta_ms = (time.perf_counter() - started) * 1000
        return Value(int(record[self.version]), instance_json(record), delta_ms, time.time() * 1000 + ttl_ms)

    async def update(self, key: Any) -> int:
        """The instance written again at the next version this harness knows of; the version it asked for."""
        self.writes += 1
        version = self.version_now(key) + 1
        if await self.store.upsert({**self._instance(key), self.version: version}, version):
            self.committed[key] = max(version, self.committed.get(key, 0))
        else:
            self.refused += 1
        return version

    def version_now(self, key: Any) -> int:
        """The newest committed version this harness knows of (at first: the generated instance's)."""
        known = self.committed.get(key)
        if known is None:
            known = self.committed[key] = int(self._instance(key)[self.version])
        return known

    def _instance(self, key: Any) -> Instance:
        return self.dataset.root(self.index[key])
