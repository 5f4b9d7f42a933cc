"""Benchmark fan-out: every store gets the same order stream, each at its own pace.

Stores are not coupled to each other (a slow store does not slow the others' measurements),
which is what a side-by-side benchmark wants. What an application that writes one order to all
stores in turn experiences is the dual-write strategy's business, not this one's.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from sandbox.measure.load import batched, closed_loop
from sandbox.measure.timing import TimedStore
from sandbox.workload.generator import Workload
from sandbox.workload.model import Order


async def write_everywhere(stores: list[TimedStore], workload: Workload, concurrency: int, batch: int,
                           advance: Callable[[str, int], None]) -> None:
    async def feed(ts: TimedStore) -> None:
        async def write(orders: list[Order]) -> None:
            await ts.write_batch(orders)
            advance(ts.name, len(orders))

        # Each store regenerates the stream from the seed: same orders, no shared buffer to hold.
        ts.op("write").elapsed_s = await closed_loop(batched(workload.orders(), batch), write, concurrency)

    await asyncio.gather(*(feed(ts) for ts in stores))
