"""Capacity search on a real store: a Redis kept busy by a known throttle has a lower capacity than without it.

The throttle is a Lua script another client runs back to back: it spins for BUSY_MS, during which Redis
(single-threaded) serves nobody, then yields for a moment. The search's operations only get through in
the gaps, so the rate Redis can sustain drops to a fraction of what it was.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import redis.asyncio as aioredis
from sandbox.measure.mix_driver import OrderIds

from sandbox.config import Settings, endpoint
from sandbox.measure.capacity import SearchPlan, Slo, find_capacity
from sandbox.measure.mix_probe import rate_probe
from sandbox.workload.generator import Workload, WorkloadSpec
from sandbox.workload.mix import parse_mix

WORKLOAD = Workload(WorkloadSpec(seed=5, orders=300, customers=20, products=10))
BUSY_MS = 40
SPIN = """
local t0 = redis.call('TIME')
local start = t0[1] * 1000000 + t0[2]
repeat
  local t = redis.call('TIME')
until t[1] * 1000000 + t[2] - start >= tonumber(ARGV[1])
return 1
"""
# Generous latency target: this shared machine's noise must not decide a step; the throttle caps throughput.
SLO = Slo.parse("p99=400ms")
SEARCH_LIMIT_S = 150
PLAN = SearchPlan(start_rate=50, factor=2, precision=0.3, max_rate=6400, max_steps=8)


@contextlib.asynccontextmanager
async def throttled(url: str) -> AsyncIterator[None]:
    client = aioredis.from_url(url)
    spin = client.register_script(SPIN)
    stop = asyncio.Event()

    async def hog() -> None:
        while not stop.is_set():
            await spin(args=[BUSY_MS * 1000])
            await asyncio.sleep(0.002)

    task = asyncio.create_task(hog())
    try:
        yield
    finally:
        # Told, not cancelled: redis-py sends through asyncio.wait_for, which on Python 3.11 can swallow a
        # cancel that lands as the script's answer does (see tests/test_cancellation.py); the hog went on.
        stop.set()
        async with asyncio.timeout(15):
            await task
        await client.aclose()


async def test_a_throttled_redis_has_a_lower_capacity(live: Settings, open_store) -> None:
    store = await open_store("redis")
    await store.prepare(WORKLOAD.catalog)
    await store.write_batch(list(WORKLOAD.orders()))
    ids = OrderIds()
    for order in WORKLOAD.orders():
        ids.append(order.id)
    mix = parse_mix("read=100", "uniform")

    async def search() -> float:
        probe = rate_probe(store, WORKLOAD, mix, len(ids), 1, ids, concurrency=8, warmup_s=0.3, step_s=1.2,
                           percentile=SLO.percentile)
        # At most 8 steps of ~3 s (warm-up, step, grace, stragglers' 10 s timeout): a hang fails, with its stack.
        async with asyncio.timeout(SEARCH_LIMIT_S):
            result = await find_capacity("redis", probe, SLO, PLAN)
        assert result.capacity is not None, result.to_json()
        return result.capacity

    free = await search()
    async with throttled(endpoint(live, "redis").url):
        slowed = await search()
    print(f"redis capacity at {SLO}: {free:,.0f} ops/s free, {slowed:,.0f} ops/s throttled")
    # 8 connections through ~1 gap every BUSY_MS: a few hundred reads/s at most, against thousands free.
    assert slowed < 0.5 * free, (slowed, free)
