"""Redis playing the memory-cap role: maxmemory set a little above what the run holds, with a policy at the
cap, and put back after the run. Eviction drops keys of anyone on the server, so it refuses a server that
holds keys outside the run's namespace."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import redis.asyncio as aioredis

from sandbox.errors import UsageError

POLICIES = ("noeviction", "allkeys-lru", "allkeys-lfu", "allkeys-random", "volatile-lru", "volatile-lfu",
            "volatile-random", "volatile-ttl")


class RedisMemoryCap:
    policies = POLICIES
    needs = "CONFIG SET maxmemory, Redis @admin"  # the privilege `cap` uses, named in a refusal

    def check(self, params: dict[str, Any]) -> None:
        if params.get("policy") not in POLICIES:
            raise UsageError(f"memory_cap: policy must be one of {', '.join(POLICIES)}, got {params.get('policy')!r}")

    async def cap(self, url: str, namespace: str, policy: str, headroom_b: int, headroom: str
                  ) -> tuple[str, Callable[[], Awaitable[None]]]:
        """Cap the server at its memory now plus headroom; (what was done, how to put it back)."""
        client = aioredis.from_url(url, decode_responses=True)
        async for key in client.scan_iter(count=1000):
            if not key.startswith(f"{namespace}:"):
                await client.aclose()
                raise UsageError(f"memory_cap: the server holds keys outside this run ({key!r}, ...); an eviction "
                                 "policy could drop them: drop them first (`sandbox gc`), or use a stack of its own")
        before = {str(k): str(v) for name in ("maxmemory", "maxmemory-policy")
                  for k, v in (await client.config_get(name)).items()}
        used = int((await client.info("memory"))["used_memory"])
        cap = used + headroom_b

        async def restore() -> None:
            try:
                await client.config_set("maxmemory", before["maxmemory"])
                await client.config_set("maxmemory-policy", before["maxmemory-policy"])
            finally:
                await client.aclose()

        try:
            await client.config_set("maxmemory-policy", policy)
            await client.config_set("maxmemory", str(cap))
        except Exception:
            await restore()
            raise
        return (f"maxmemory {cap} B (used {used} B after prepare + {headroom}), maxmemory-policy {policy}; "
                f"restored to {before['maxmemory']} / {before['maxmemory-policy']} after the run"), restore
