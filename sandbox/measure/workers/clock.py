"""How far a worker's wall clock is from a reference clock, so merged histories line up.

Workers on different machines share nothing but the stores, so a store server's clock is the
reference: PostgreSQL's clock_timestamp() or Redis's TIME (microseconds), asked NTP-style: the offset
is server time minus the midpoint of the round trip, from the fastest of a few asks, and is good to
half that round trip. Stores without a precise clock query are not used; with none of the two in the
run, the offset is not measured and the merge says so rather than assuming synchronized clocks.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Any

from sandbox.config import Endpoint, mask

ASKS = 5


@dataclass(frozen=True)
class ClockOffset:
    reference: str  # which server's clock, URL masked
    offset_s: float  # reference clock minus this worker's clock
    uncertainty_s: float  # half the round trip of the ask used

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


async def _postgres_now(endpoint: Endpoint) -> Callable[[], Awaitable[float]]:
    import asyncpg

    conn = await asyncpg.connect(endpoint.url)

    async def now() -> float:
        return float(await conn.fetchval("SELECT extract(epoch FROM clock_timestamp())"))

    now.close = conn.close  # type: ignore[attr-defined]
    return now


async def _redis_now(endpoint: Endpoint) -> Callable[[], Awaitable[float]]:
    import redis.asyncio as aioredis

    client = aioredis.from_url(endpoint.url)

    async def now() -> float:
        seconds, micros = await client.time()
        return seconds + micros / 1e6

    now.close = client.aclose  # type: ignore[attr-defined]
    return now


PROBES = {"postgres": _postgres_now, "redis": _redis_now}


async def measure_offset(endpoints: list[Endpoint]) -> ClockOffset | None:
    """The offset against the first endpoint whose store has a clock query; None when none has."""
    for endpoint in endpoints:
        if endpoint.store in PROBES:
            now = await PROBES[endpoint.store](endpoint)
            try:
                best: tuple[float, float] | None = None  # (round trip, offset)
                for _ in range(ASKS):
                    sent = time.time()
                    server = await now()
                    back = time.time()
                    sample = (back - sent, server - (sent + back) / 2)
                    best = sample if best is None or sample < best else best
            finally:
                await now.close()  # type: ignore[attr-defined]
            assert best is not None
            return ClockOffset(f"{endpoint.store} at {mask(endpoint.url)}", best[1], best[0] / 2)
    return None
