"""Resource exhaustion: a store that runs out of memory while it takes the run's writes.

`redis_maxmemory` caps the run's Redis a little above what it holds after `prepare` and names what it
does at the cap: `noeviction` refuses writes (OOM errors: the checker classifies them failed, nothing
acknowledged may be lost), an eviction policy (`allkeys-lru`, ...) accepts them and silently drops keys,
acknowledged orders included (the checker reports them lost; the report names the policy). The server's
own settings come back at the end of the run.

Eviction drops keys of anyone on that server, so the step refuses to run unless the sandbox started
the server itself and every key on it belongs to this run.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import redis.asyncio as aioredis

from sandbox.config import endpoint
from sandbox.errors import UsageError
from sandbox.scenario.context import RunContext
from sandbox.scenario.spec import RunParams
from sandbox.scenario.steps import Step, with_defaults

POLICIES = ("noeviction", "allkeys-lru", "allkeys-lfu", "allkeys-random", "volatile-lru", "volatile-lfu",
            "volatile-random", "volatile-ttl")
UNITS = {"b": 1, "kb": 1024, "mb": 1024**2, "gb": 1024**3}


def parse_bytes(text: Any, what: str = "redis_maxmemory: headroom") -> int:
    raw = str(text).strip().lower()
    number = raw.rstrip("kmgb")
    unit = raw[len(number):] or "b"
    if not number.isdigit() or unit not in UNITS or int(number) <= 0:
        raise UsageError(f"{what} must be a size like 512kb or 2mb, got {text!r}")
    return int(number) * UNITS[unit]


async def redis_maxmemory(ctx: RunContext, policy: str = "noeviction", headroom: str = "1mb") -> None:
    """Cap the run's Redis at its memory after `prepare` plus `headroom`, with `policy` at the cap."""
    if "redis" not in ctx.stores:
        raise UsageError("redis_maxmemory needs redis in the run (--stores ...,redis)")
    url = endpoint(ctx.settings, "redis").url
    if not ctx.stack.owns("redis", url):
        raise UsageError("redis_maxmemory changes the server's memory cap and may evict keys: it runs only "
                         "against a Redis this sandbox started (`sandbox up`), at the URL the stack gave it")
    client = aioredis.from_url(url, decode_responses=True)
    namespace = ctx.stores["redis"].store.namespace
    async for key in client.scan_iter(count=1000):
        if not key.startswith(f"{namespace}:"):
            await client.aclose()
            raise UsageError(f"redis_maxmemory: the server holds keys outside this run ({key!r}, ...); an "
                             "eviction policy could drop them: drop them first (`sandbox gc`), or use a stack "
                             "of its own")
    before = {str(k): str(v) for name in ("maxmemory", "maxmemory-policy")
              for k, v in (await client.config_get(name)).items()}
    used = int((await client.info("memory"))["used_memory"])
    cap = used + parse_bytes(headroom)

    async def restore() -> None:
        try:
            await client.config_set("maxmemory", before["maxmemory"])
            await client.config_set("maxmemory-policy", before["maxmemory-policy"])
        finally:
            await client.aclose()

    ctx.cleanups.append(restore)
    await client.config_set("maxmemory-policy", policy)
    await client.config_set("maxmemory", str(cap))
    ctx.notes.append(f"redis_maxmemory: maxmemory {cap} B (used {used} B after prepare + {headroom}), "
                     f"maxmemory-policy {policy}; restored to {before['maxmemory']} / "
                     f"{before['maxmemory-policy']} after the run")


def _validate(params: dict[str, Any], run: RunParams) -> None:
    given = with_defaults(redis_maxmemory, params)
    if given["policy"] not in POLICIES:
        raise UsageError(f"redis_maxmemory: policy must be one of {', '.join(POLICIES)}, got {params['policy']!r}")
    parse_bytes(given["headroom"])


STEPS: dict[str, Step] = {"redis_maxmemory": redis_maxmemory}
VALIDATORS: dict[str, Callable[[dict[str, Any], RunParams], None]] = {"redis_maxmemory": _validate}
