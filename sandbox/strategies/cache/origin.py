"""The origin behind the cache: an order's version and status in PostgreSQL, and who loaded what.

An origin load costs `recompute_ms` of server time (pg_sleep inside the query), standing for the
expensive query a cache exists to avoid; with 0 it is a primary-key lookup.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import asyncpg


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


class Origin:
    """Reads and updates orders in one run's schema; counts every query it sends."""

    def __init__(self, pool: asyncpg.Pool, schema: str, recompute_ms: float):
        self.pool = pool
        self.recompute_s = recompute_ms / 1000
        s = f'"{schema}"'
        sleep = ", pg_sleep($2)" if recompute_ms > 0 else ""
        self._load = f"SELECT o.version, o.status::text, o.total_amount::text FROM {s}.orders o{sleep} WHERE o.id = $1"
        self._update = (f"UPDATE {s}.orders SET status = $2::{s}.order_status, version = version + 1 "
                        "WHERE id = $1 RETURNING version")
        self.loads = 0
        self.writes = 0
        self.episodes = Episodes()
        self.committed: dict[str, int] = {}  # key -> the newest version PostgreSQL acknowledged

    async def load(self, key: str, ttl_ms: float) -> Value:
        self.loads += 1
        self.episodes.begin(key)
        started = time.perf_counter()
        try:
            args = (key, self.recompute_s) if self.recompute_s else (key,)
            row = await self.pool.fetchrow(self._load, *args)
        finally:
            self.episodes.end(key)
        if row is None:
            raise LookupError(f"order {key} is not in PostgreSQL")
        delta_ms = (time.perf_counter() - started) * 1000
        return Value(row[0], row[1], row[2], delta_ms, time.time() * 1000 + ttl_ms)

    async def update(self, key: str, status: str) -> int:
        self.writes += 1
        version = int(await self.pool.fetchval(self._update, key, status))
        self.committed[key] = max(version, self.committed.get(key, 0))
        return version

    def version_now(self, key: str) -> int:
        """The newest committed version this harness knows of (orders start at version 1)."""
        return self.committed.get(key, 1)
