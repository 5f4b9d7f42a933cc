"""What every benchmark shares: the three-column row, running a native tool, the sandbox and bare sides.

Each benchmark measures the same work three ways (see docs/measurement.md, "Benchmarks"):
- sandbox: through TimedStore and the load driver, all three times recorded (what a run pays);
- bare: the same client calls in a plain asyncio loop, nothing timed per call (the limit for any
  harness on that client library);
- native: the store's own tool on the same input, where this machine has one.
sandbox/bare is the harness's own cost, bare/native the client library's (and Python's).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.repeats import Samples, ratio
from sandbox.measure.load import LoadPlan, closed_loop, drive
from sandbox.measure.timing import TimedStore
from sandbox.stores import make_model_store
from sandbox.stores.connect import prepare_all
from sandbox.stores.registry import registry_of
from sandbox.workload import model_file
from sandbox.workload.dataset import Dataset, Sizes
from sandbox.workload.params import Params

PG_BIN = Path("/usr/lib/postgresql/15/bin")
ORDERS = model_file.load(Path(__file__).resolve().parent.parent / "models" / "orders.toml")


def orders_data(seed: int, count: int = 10**9) -> Dataset:
    """The orders model's data for a seed (root instances made on demand)."""
    return Dataset(ORDERS, seed, Sizes(count))


@dataclass
class Row:
    bench: str
    server: str  # the server that answered, as it reported itself
    unit: str
    sandbox: Samples
    bare: Samples
    native: Samples | None = None  # None: no native tool for this work here (the note says why)
    harness_target: float | None = 0.9  # goal for sandbox / bare
    library_target: float | None = None  # goal for bare / native
    rate_target: float | None = None  # goal for the sandbox's own rate (the no-op harness)
    note: str = ""
    # Why a goal may be missed, from the profiles (one line each; the detail is in docs/measurement.md).
    why_harness: str = ""  # sandbox/bare (or the no-op rate)
    why_library: str = ""  # bare/native

    @property
    def harness_ratio(self) -> float | None:
        return ratio(self.sandbox, self.bare)

    @property
    def harness_cpu_us(self) -> float | None:
        """The client CPU per unit the sandbox spent beyond the bare loop: the harness's own cost, measured."""
        top, bottom = self.sandbox.cpu_median, self.bare.cpu_median
        return top - bottom if top is not None and bottom is not None else None

    @property
    def library_ratio(self) -> float | None:
        return ratio(self.bare, self.native) if self.native is not None else None


def tool(name: str) -> str:
    found = shutil.which(name) or (str(PG_BIN / name) if (PG_BIN / name).exists() else None)
    if found is None:
        raise SystemExit(f"bench needs {name}: install redis-tools / postgresql-client-15 / curl")
    return found


def run_tool(args: list[str], env: dict[str, str] | None = None, stdin: Path | None = None) -> tuple[float, str]:
    """Run a native tool; returns (wall seconds, stdout). Fails loudly on a non-zero exit."""
    full_env = {**os.environ, **(env or {})}
    start = time.perf_counter()
    if stdin is None:
        done = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True, text=True, env=full_env)
    else:
        with stdin.open("rb") as f:
            done = subprocess.run(args, stdin=f, capture_output=True, text=True, env=full_env)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{Path(args[0]).name} failed: {(done.stderr or done.stdout).strip()[:300]}")
    return seconds, done.stdout


async def sandbox_rate(ts: TimedStore, work: Iterable[Any], fn: Callable[[Any], Awaitable[object]],
                       plan: LoadPlan, units_per_item: int = 1) -> tuple[float, float]:
    """Items (times units_per_item) per second of `fn(item)` through the timing wrapper under `plan`, and the
    process's CPU µs per unit."""
    async def do(item: Any, intended_ns: int, begun_ns: int) -> None:
        await ts.call("op", lambda: fn(item), (), intended_ns, begun_ns)

    cpu = time.process_time()
    result = await drive(work, do, plan)
    stats = ts.op("op")
    flush_started = time.perf_counter()
    stats.flush()  # the times still buffered go into the histograms: a run pays that too (once a second)
    flush_s = time.perf_counter() - flush_started
    cpu = time.process_time() - cpu
    if stats.failed or stats.unknown:
        raise SystemExit(f"{ts.name}: {stats.failed + stats.unknown} operations failed: {stats.first_errors}")
    units = stats.ok * units_per_item
    return units / (result.measured_s + flush_s), cpu / units * 1e6


async def bare_rate(work: list[Any], fn: Callable[[Any], Awaitable[object]], concurrency: int,
                    units_per_item: int = 1) -> tuple[float, float]:
    """The same calls in a plain loop of `concurrency` tasks: no timing per call, no bookkeeping; per second,
    and the process's CPU µs per unit."""
    cpu = time.process_time()
    seconds = await closed_loop(work, fn, concurrency)
    cpu = time.process_time() - cpu
    units = len(work) * units_per_item
    return units / seconds, cpu / units * 1e6


async def open_store(name: str, settings: Any, namespace: str, connections: int, data: Dataset,
                     make: Callable[[], Any] | None = None) -> tuple[Any, str]:
    """A connected model store of the data's model, prepared in a fresh namespace (its pool open before any clock
    starts, the reference data loaded), and the server that answered."""
    store = make() if make is not None else make_model_store(settings, name, namespace, data.model, connections)
    server = str(await store.connect())
    await prepare_all([store], data, namespace.removeprefix("sbx_"), registry_of(settings), [])
    return store, server


async def held(store: Any) -> int:
    """Root instances a model store holds, by its own count (the orders model's revenue_by_status answer)."""
    answer = store.answer(store.model.patterns["revenue_by_status"])
    assert callable(answer), answer
    return sum(row.count for row in await answer(Params()))


async def close_store(store: Any) -> None:
    try:
        await store.teardown()
    finally:
        await store.close()


def run_id(side: str = "") -> str:
    """A fresh namespace per side and repeat."""
    return f"sbx_bench_{os.getpid()}_{time.time_ns() % 10**12}{side}"
