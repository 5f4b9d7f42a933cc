"""Redis playing the cache of the cache-aside experiment: a client of its own (not the adapter's), which
gives up at once when the server is gone, so a reader falls back to the origin instead of waiting."""

from __future__ import annotations

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

CACHE_TIMEOUT_S = 0.25
# Compare-and-delete: release the single-flight lock only if it is still ours.
RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"


class RedisCache:
    errors = (RedisError, ConnectionError, OSError, TimeoutError)  # the cache did not answer: fall back

    def __init__(self, client: aioredis.Redis):
        self.client = client

    async def get(self, key: str) -> str | None:
        value = await self.client.get(key)
        return None if value is None else str(value)

    async def put(self, key: str, value: str, ttl_ms: float) -> None:
        await self.client.set(key, value, px=max(1, round(ttl_ms)))

    async def lock(self, key: str, token: str, ttl_ms: float) -> bool:
        return bool(await self.client.set(key, token, nx=True, px=round(ttl_ms)))

    async def unlock(self, key: str, token: str) -> None:
        await self.client.eval(RELEASE, 1, key, token)

    async def delete(self, key: str) -> None:
        await self.client.delete(key)

    async def exists(self, key: str) -> bool:
        return bool(await self.client.exists(key))

    async def close(self) -> None:
        await self.client.aclose()


class RedisCacheRole:
    @staticmethod
    def prefix(namespace: str, policy: str) -> str:
        """Cache keys live under the run's key prefix, so the adapter's teardown drops them."""
        return f"{namespace}:cache:{policy}:"

    async def open(self, url: str, connections: int) -> RedisCache:
        return RedisCache(aioredis.from_url(url, decode_responses=True, max_connections=connections + 8,
                                            retry=Retry(NoBackoff(), 0), socket_timeout=CACHE_TIMEOUT_S,
                                            socket_connect_timeout=CACHE_TIMEOUT_S))
