"""Redis's background work, from INFO persistence: an RDB save or an AOF rewrite in progress (each a fork of the
server), and the ones that started and ended between two samples (rdb_saves and aof_rewrites count starts)."""

from __future__ import annotations

import time
from typing import Any

import redis.asyncio as aioredis

from sandbox.config import Endpoint
from sandbox.stores.background import Activity, went_up

COUNTED = {"rdb_saves": "RDB save", "aof_rewrites": "AOF rewrite"}
RUNNING = {"rdb_bgsave_in_progress": "RDB save", "aof_rewrite_in_progress": "AOF rewrite"}


class RedisBackground:
    sees = ("RDB save", "AOF rewrite")
    blind: tuple[str, ...] = ()

    def __init__(self, client: Any):
        self.client = client
        self.before: dict[str, float] | None = None

    async def sample(self) -> list[Activity]:
        info = await self.client.info("persistence")
        stats = await self.client.info("stats")
        fork = f"fork {stats.get('latest_fork_usec', 0) / 1000:.1f} ms"
        out = [Activity(what, fork) for flag, what in RUNNING.items() if info.get(flag)]
        now = {k: float(info.get(k, 0)) for k in COUNTED}
        up = went_up(now, self.before)
        self.before = now
        running = {a.what for a in out}
        for counter, n in up.items():
            what = COUNTED[counter]
            if what not in running:  # started and ended between two samples
                out.append(Activity(what, f"{int(n)} started and ended, {fork}", end=time.time()))
        return out

    async def close(self) -> None:
        await self.client.aclose()


async def open_probe(endpoint: Endpoint) -> RedisBackground:
    client = aioredis.from_url(endpoint.url, socket_timeout=5, socket_connect_timeout=5)
    await client.ping()
    return RedisBackground(client)
