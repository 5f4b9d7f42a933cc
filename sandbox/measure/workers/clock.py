"""How far a worker's wall clock is from a reference clock, so merged histories line up.

Workers on different machines share nothing but the stores, so a store server's clock is the
reference: the clock a store's kind declares (`StoreKind.clock`: PostgreSQL's clock_timestamp(), Redis's
TIME, microseconds), asked NTP-style: the offset is server time minus the midpoint of the round trip, from
the fastest of a few asks, and is good to half that round trip. Stores without a declared clock are not
used; with none in the run, the offset is not measured and the merge says so rather than assuming
synchronized clocks.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
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


# A kind's clock: async (url) -> (now, close), now() giving the server's time in epoch seconds.
OpenClock = Callable[[str], Awaitable[tuple[Callable[[], Awaitable[float]], Callable[[], Awaitable[None]]]]]


async def measure_offset(endpoints: list[Endpoint], clocks: Mapping[str, OpenClock | None]) -> ClockOffset | None:
    """The offset against the first endpoint whose store declares a clock (`clocks`: store -> its kind's); None
    when none does."""
    for endpoint in endpoints:
        if (open_clock := clocks.get(endpoint.store)) is not None:
            now, close = await open_clock(endpoint.url)
            try:
                best: tuple[float, float] | None = None  # (round trip, offset)
                for _ in range(ASKS):
                    sent = time.time()
                    server = await now()
                    back = time.time()
                    sample = (back - sent, server - (sent + back) / 2)
                    best = sample if best is None or sample < best else best
            finally:
                await close()
            assert best is not None
            return ClockOffset(f"{endpoint.store} at {mask(endpoint.url)}", best[1], best[0] / 2)
    return None
