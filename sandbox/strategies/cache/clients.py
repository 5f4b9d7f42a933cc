"""The cache-aside run's own connections, opened from configuration (not the adapters')."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from sandbox.config import Settings, endpoint

# A killed cache must cost a reader a refused connection, not a long wait: reads fall back to the origin.
CACHE_TIMEOUT_S = 0.25


@dataclass
class CacheClients:
    cache: aioredis.Redis
    pool: asyncpg.Pool

    async def close(self) -> None:
        await self.cache.aclose()
        await self.pool.close()


async def open_clients(settings: Settings, connections: int) -> CacheClients:
    cache = aioredis.from_url(endpoint(settings, "redis").url, decode_responses=True,
                              max_connections=connections + 8, retry=Retry(NoBackoff(), 0),
                              socket_timeout=CACHE_TIMEOUT_S, socket_connect_timeout=CACHE_TIMEOUT_S)
    # One connection per worker, opened up front, so a stampede is not also a connection storm. No reset
    # query on release (the queries leave no session state): PostgreSQL's transaction count then equals
    # the queries the policies sent, a cross-check of the client's count.
    pool = await asyncpg.create_pool(endpoint(settings, "postgres").url, min_size=connections + 1,
                                     max_size=connections + 1, reset=_keep)
    return CacheClients(cache, pool)


async def _keep(connection: asyncpg.Connection) -> None:
    """Return a connection to the pool as it is."""
