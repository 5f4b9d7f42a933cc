"""(a) Redis SET at concurrency 50: redis.asyncio through TimedStore vs redis-benchmark, same keys and value."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from bench.common import Row, close_store, open_store, run_id, run_tool, timed_drive, tool
from sandbox.measure.load import LoadPlan
from sandbox.measure.timing import TimedStore
from sandbox.workload.generator import Workload


async def bench(settings: Any, workload: Workload, n: int) -> Row:
    url = urlsplit(settings.redis_url)
    ns = run_id()
    store = await open_store("redis", settings, ns, 50, workload.catalog)
    try:
        # Same command, same 3-byte value and key space as `redis-benchmark -t set -r`, under this run's prefix.
        _, out = run_tool([tool("redis-benchmark"), "-h", url.hostname or "127.0.0.1", "-p", str(url.port),
                           "-a", url.password or "", "-c", "50", "-n", str(n), "-r", "100000", "--csv", "SET",
                           f"{ns}:k:__rand_int__", "xxx"])  # redis-benchmark 7.0 ignores REDISCLI_AUTH
        native = float(out.strip().splitlines()[-1].split(",")[1].strip('"'))
        client = store.client  # type: ignore[attr-defined]
        keys = (f"{ns}:s:{i % 100000:012d}" for i in range(n))
        sandbox = await timed_drive(TimedStore(store), keys, lambda k: client.set(k, "xxx"), LoadPlan(50))
    finally:
        await close_store(store)
    return Row("(a) Redis SET, 50 concurrent: redis.asyncio via TimedStore vs redis-benchmark -c 50",
               sandbox, native, "ops/s", 0.5)
