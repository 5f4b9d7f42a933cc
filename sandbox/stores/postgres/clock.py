"""PostgreSQL's own clock (clock_timestamp(), microseconds), for the workers' skew check (KIND.clock)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import asyncpg


async def open_clock(url: str) -> tuple[Callable[[], Awaitable[float]], Callable[[], Awaitable[None]]]:
    """(now, close): the server's time in epoch seconds, on a connection of its own."""
    conn = await asyncpg.connect(url)

    async def now() -> float:
        return float(await conn.fetchval("SELECT extract(epoch FROM clock_timestamp())"))

    return now, conn.close
