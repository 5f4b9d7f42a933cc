"""Benchmark fan-out: every store gets the same order stream, each at its own pace.

Stores are not coupled to each other (a slow store does not slow the others' measurements),
which is what a side-by-side benchmark wants. What an application that writes one order to all
stores in turn experiences is the dual-write strategy's business, not this one's.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from sandbox.measure.load import LoadPlan, LoadResult, batched, drive
from sandbox.measure.saturation import CpuMeter, client_load
from sandbox.measure.timing import TimedStore
from sandbox.workload.generator import Workload
from sandbox.workload.model import Order


async def write_everywhere(stores: list[TimedStore], workload: Workload, concurrency: int, batch: int,
                           advance: Callable[[str, int], None] | None = None, *, plan: LoadPlan | None = None
                           ) -> dict[str, int]:
    """Write to every store under `plan` (default: closed loop at `concurrency`); returns orders sent per store
    (a prefix of the stream: all of it unless the run is limited by duration)."""
    plan = plan or LoadPlan(concurrency)
    meter = CpuMeter()
    sent: dict[str, int] = {}

    async def feed(ts: TimedStore) -> None:
        count = 0

        async def write(orders: list[Order], intended_ns: int, begun_ns: int) -> None:
            nonlocal count
            count += len(orders)
            await ts.write_batch(orders, intended_ns, begun_ns)
            if advance is not None:  # progress bars; the timeline shows progress without a per-op call
                advance(ts.name, len(orders))

        def started(result: LoadResult) -> None:
            ts.measure_from_ns = result.measure_from_ns

        # Each store regenerates the stream from the seed: same orders, no shared buffer to hold.
        result = await drive(batched(workload.orders(), batch), write, plan, started)
        stats = ts.op("write")
        stats.elapsed_s = result.measured_s
        stats.client = client_load(plan, result, meter)
        sent[ts.name] = count

    await asyncio.gather(*(feed(ts) for ts in stores))
    return sent
