"""Where the harness's microseconds go in the Redis SET row: the bare redis-py loop, then the sandbox's
layers added one at a time, alternating in one process with only redis-py imported (no valkey-glide).

    python -m bench.redis_layers [--ops 50000] [--repeats 5]

Each layer prints ops/s and the process's CPU µs per SET (median of the repeats), and both against
the bare loop. CPU per op is the figure to read: the wall clock on a shared machine swings ±20%.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Awaitable, Callable

from bench.common import bare_rate, close_store, open_store, orders_data, run_id, sandbox_rate
from bench.redis_set import CONCURRENCY, KEYSPACE
from sandbox.config import Workspace
from sandbox.measure.load import LoadPlan, drive
from sandbox.measure.timing import TimedCalls, TimedStore
from sandbox.scenario.runner import run_loop
from sandbox.stores.contract import ModelStore
from sandbox.stores.registry import StoreRegistry

Layer = Callable[[list[str]], Awaitable[tuple[float, float]]]


def layers(set_: Callable[[str], Awaitable[object]], store: ModelStore, flush_us: list[float]) -> dict[str, Layer]:
    """The layers in order; the TimedCalls layer appends the CPU µs per SET its final flush took to flush_us."""
    now = time.perf_counter_ns

    async def driven(keys: list[str], do: Callable[[str, int, int], Awaitable[object]]) -> tuple[float, float]:
        cpu = time.process_time()
        result = await drive(keys, do, LoadPlan(CONCURRENCY))
        return len(keys) / result.measured_s, (time.process_time() - cpu) / len(keys) * 1e6

    async def bare(keys: list[str]) -> tuple[float, float]:
        return await bare_rate(keys, set_, CONCURRENCY)

    async def driver(keys: list[str]) -> tuple[float, float]:
        async def do(key: str, intended: int, begun: int) -> None:
            await (lambda: set_(key))()
        return await driven(keys, do)

    async def clock_and_lists(keys: list[str]) -> tuple[float, float]:
        times: tuple[list[int], list[int], list[int]] = ([], [], [])

        async def do(key: str, intended: int, begun: int) -> None:
            start = now()
            await (lambda: set_(key))()
            end = now()
            times[0].append(end - intended)
            times[1].append(end - start)
            times[2].append(start - begun)
        return await driven(keys, do)

    async def call_no_timeout(keys: list[str]) -> tuple[float, float]:
        calls = TimedCalls("redis", op_timeout_s=None)

        async def do(key: str, intended: int, begun: int) -> None:
            await calls.call("op", lambda: set_(key), (), intended, begun)
        cpu = time.process_time()
        result = await drive(keys, do, LoadPlan(CONCURRENCY))
        flush = time.process_time()
        calls.op("op").flush()
        flush_us.append((time.process_time() - flush) / len(keys) * 1e6)
        return len(keys) / result.measured_s, (time.process_time() - cpu) / len(keys) * 1e6

    async def sandbox(keys: list[str]) -> tuple[float, float]:
        return await sandbox_rate(TimedStore(store), keys, set_, LoadPlan(CONCURRENCY))

    return {"bare loop (closed_loop)": bare, "+ driver's closed worker, do() and a lambda": driver,
            "+ two clock reads, three appends": clock_and_lists,
            "+ TimedCalls.call, no timeout, flush": call_no_timeout, "sandbox (TimedStore: + watchdog)": sandbox}


async def measure(ops: int, repeats: int) -> str:
    settings = StoreRegistry.load(os.environ).settings("native", Workspace.from_env(dict(os.environ)))
    ns = run_id("l")
    store, server = await open_store("redis", settings, ns, CONCURRENCY, orders_data(1))
    client_set = store.client.set
    flush_us: list[float] = []
    sides = layers(lambda k: client_set(k, "xxx"), store, flush_us)
    rates: dict[str, list[float]] = {name: [] for name in sides}
    cpus: dict[str, list[float]] = {name: [] for name in sides}
    try:
        for r in range(repeats):
            for i, name in enumerate(list(sides) if r % 2 == 0 else list(sides)[::-1]):
                keys = [f"{ns}:{i}:{k % KEYSPACE:012d}" for k in range(ops)]
                rate, cpu = await sides[name](keys)
                rates[name].append(rate)
                cpus[name].append(cpu)
    finally:
        await close_store(store)
    bare_rate_, bare_cpu = statistics.median(rates["bare loop (closed_loop)"]), statistics.median(
        cpus["bare loop (closed_loop)"])
    lines = [f"Redis SET, {CONCURRENCY} concurrent, redis-py, {ops:,} ops x {repeats} alternating ({server})", "",
             "| layer | ops/s | / bare | CPU µs per SET | vs bare |", "|---|---:|---:|---:|---:|"]
    for name in sides:
        rate, cpu = statistics.median(rates[name]), statistics.median(cpus[name])
        lines.append(f"| {name} | {rate:,.0f} | {rate / bare_rate_:.2f} | {cpu:.1f} | {cpu - bare_cpu:+.1f} |")
    lines.append(f"\nof which the final histogram flush: {statistics.median(flush_us):.2f} µs per SET (median)")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.redis_layers", description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--ops", type=int, default=50_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print(run_loop(measure(args.ops, args.repeats)))


if __name__ == "__main__":
    main()
