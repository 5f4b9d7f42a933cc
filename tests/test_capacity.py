"""Capacity search on a real store: a Redis kept busy by a known throttle has a lower capacity than without it.

The throttle is a Lua script another client runs back to back: it spins for BUSY_MS, during which Redis
(single-threaded) serves nobody, then yields for a moment. The search's operations only get through in
the gaps, so the rate Redis can sustain drops to a fraction of what it was.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import redis.asyncio as aioredis

from sandbox.config import Settings, endpoint
from sandbox.measure.capacity import SearchPlan, Slo, find_capacity
from sandbox.measure.mix_probe import MixProbe
from sandbox.measure.timing import write_all
from sandbox.stores import make_model_store
from sandbox.workload.dataset import Dataset, Sizes
from sandbox.workload.model_file import load

MODEL = load(Path(__file__).parent.parent / "models" / "orders.toml")
DATA = Dataset(MODEL, 5, Sizes(300, {"customer": 20, "product": 10}))
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


@contextlib.asynccontextmanager
async def model_store(settings: Settings) -> AsyncIterator:
    store = make_model_store(settings, "redis", f"sbx_test_{secrets.token_hex(4)}", MODEL)
    await store.connect()
    try:
        await store.prepare(DATA)
        await write_all(store, list(DATA.roots()))
        yield store
    finally:
        try:
            await store.teardown()
        finally:
            await store.close()


async def test_a_throttled_redis_has_a_lower_capacity(live: Settings) -> None:
    async def search(store: object) -> float:
        probe = MixProbe(store, DATA, MODEL.mixes["ycsb-c"], DATA.count, 1, SLO.percentile)  # reads by key
        # At most 8 steps of ~3 s (warm-up, step, grace, stragglers' 10 s timeout): a hang fails, with its stack.
        async with asyncio.timeout(SEARCH_LIMIT_S):
            result = await find_capacity("redis", probe.at_rate(8, 0.3, 1.2), SLO, PLAN)
        assert result.capacity is not None, result.to_json()
        return result.capacity

    async with model_store(live) as store:
        free = await search(store)
        async with throttled(endpoint(live, "redis").url):
            slowed = await search(store)
    print(f"redis capacity at {SLO}: {free:,.0f} ops/s free, {slowed:,.0f} ops/s throttled")
    # 8 connections through ~1 gap every BUSY_MS: a few hundred reads/s at most, against thousands free.
    assert slowed < 0.5 * free, (slowed, free)
