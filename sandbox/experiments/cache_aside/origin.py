"""The origin behind the cache: an order's version and status in the store playing the origin role (its kind's
`cache_origin`, e.g. stores/postgres/cache_origin.py), and who loaded what."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class Value:
    """What the cache holds for a key: the origin's row at a version, and XFetch's bookkeeping."""

    version: int
    status: str
    total: str
    delta_ms: float = 0.0  # how long the load that produced it took (XFetch's delta)
    expiry_ms: float = 0.0  # wall-clock epoch ms at which it expires (XFetch compares against it)

    def encode(self) -> str:
        return f"{self.version}|{self.status}|{self.total}|{self.delta_ms:.3f}|{self.expiry_ms:.3f}"

    @staticmethod
    def decode(text: str) -> Value:
        version, status, total, delta, expiry = text.split("|")
        return Value(int(version), status, total, float(delta), float(expiry))


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


class OriginStore(Protocol):
    """What a store playing the origin offers (its kind's `cache_origin` role opens one)."""

    async def load(self, key: str) -> tuple[int, str, str] | None: ...  # (version, status, total)

    async def update(self, key: str, status: str) -> int: ...  # the new version

    async def transactions(self) -> int | None: ...  # the server's own count, a cross-check

    async def close(self) -> None: ...


class Origin:
    """Reads and updates orders in one run's namespace; counts every query it sends."""

    def __init__(self, store: OriginStore, name: str):
        self.store = store
        self.name = name  # the store playing the origin, for messages
        self.loads = 0
        self.writes = 0
        self.episodes = Episodes()
        self.committed: dict[str, int] = {}  # key -> the newest version the origin acknowledged

    async def load(self, key: str, ttl_ms: float) -> Value:
        self.loads += 1
        self.episodes.begin(key)
        started = time.perf_counter()
        try:
            row = await self.store.load(key)
        finally:
            self.episodes.end(key)
        if row is None:
            raise LookupError(f"order {key} is not in {self.name}")
        delta_ms = (time.perf_counter() - started) * 1000
        return Value(row[0], row[1], row[2], delta_ms, time.time() * 1000 + ttl_ms)

    async def update(self, key: str, status: str) -> int:
        self.writes += 1
        version = await self.store.update(key, status)
        self.committed[key] = max(version, self.committed.get(key, 0))
        return version

    def version_now(self, key: str) -> int:
        """The newest committed version this harness knows of (orders start at version 1)."""
        return self.committed.get(key, 1)
