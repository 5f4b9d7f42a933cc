"""Redis's own clock (TIME, microseconds), for the workers' skew check (KIND.clock)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import redis.asyncio as aioredis


async def open_clock(url: str) -> tuple[Callable[[], Awaitable[float]], Callable[[], Awaitable[None]]]:
    """(now, close): the server's time in epoch seconds, on a client of its own."""
    client = aioredis.from_url(url)

    async def now() -> float:
        seconds, micros = await client.time()
        return float(seconds + micros / 1e6)

    return now, client.aclose
