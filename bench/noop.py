"""(d) The harness alone against the no-op store, and order generation; each run in a fresh process.

- no-op harness: N writes of one reused order through TimedStore and the driver (all three times
  recorded) vs the same adapter calls in a bare loop of as many tasks. No native tool: the target is
  the sandbox's own rate (>= 250,000 ops/s per process).
- generation: the no-op harness writing freshly generated orders vs generating them alone (the
  ceiling any harness on this generator has in one process).
Each child is its own process, so its peak memory is its own (bench/memory.py reads it).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from bench.common import Row
from bench.repeats import Samples, SideResult, alternate

MODEL = Path(__file__).resolve().parent.parent / "models" / "orders.toml"

CHILD = """
import json, sys, time
from itertools import repeat
from sandbox.config import Endpoint
from sandbox.measure.calibrate import measure_generation, measure_harness
from sandbox.measure.load import LoadPlan, closed_loop
from sandbox.scenario.runner import run_loop
from sandbox.stores.noop.model_store import NoopModelStore
from pathlib import Path
from sandbox.workload import model_file
from sandbox.workload.dataset import Dataset, Sizes
ops, mode, path = int(sys.argv[1]), sys.argv[2], sys.argv[3]
model = model_file.load(Path(path))
if mode == "bare":
    store = NoopModelStore(Endpoint("noop", "noop://"), "bench", model, {})
    order = Dataset(model, 1, Sizes(1)).root(0)
    cpu = time.process_time()
    seconds = run_loop(closed_loop(repeat(order, ops), store.write, 8))
    rate, cpu_us = ops / seconds, (time.process_time() - cpu) / ops * 1e6
else:
    done = measure_generation(model, ops) if mode == "generation" else run_loop(
        measure_harness(model, ops, LoadPlan(8), generate=mode == "generate"))
    rate, cpu_us = done.ops_per_s, done.cpu * done.seconds / done.ops * 1e6
# VmHWM (peak RSS of this process image): ru_maxrss would carry the parent's peak over fork + exec.
hwm_kb = next(int(ln.split()[1]) for ln in open("/proc/self/status") if ln.startswith("VmHWM:"))
print(json.dumps({"ops_s": rate, "cpu_us": cpu_us, "rss_mb": hwm_kb / 1024}))
"""


def child(ops: int, mode: str) -> dict[str, float]:
    """One run in its own process (mode: harness, bare, generate, generation): ops/s and peak RSS (MB)."""
    done = subprocess.run([sys.executable, "-c", CHILD, str(ops), mode, str(MODEL)], capture_output=True, text=True,
                          check=True)
    return json.loads(done.stdout)


async def bench(ops: int, orders: int) -> tuple[list[Row], Samples]:
    """The two rows, and the peak RSS of the generating runs (for bench/memory.py)."""
    rss = Samples()

    def side(n: int, mode: str) -> Callable[[], Awaitable[SideResult]]:
        async def run() -> SideResult:
            result = child(n, mode)
            if mode == "generate":
                rss.values.append(result["rss_mb"])
            return result["ops_s"], result["cpu_us"]
        return run

    harness = await alternate({"sandbox": side(ops, "harness"), "bare": side(ops, "bare")})
    generation = await alternate({"sandbox": side(orders, "generate"), "bare": side(orders, "generation")})
    return [
        Row(f"(d) no-op harness, {ops:,} ops of one reused order, 8 concurrent, 3 times recorded vs the same "
            "no-op model store calls in a bare loop", "none (no-op model store)", "ops/s", harness["sandbox"],
            harness["bare"],
            harness_target=None, rate_target=250_000,
            note="no native tool; target: the harness's own rate; the bare loop does no store work, so "
                 "sandbox/bare is the harness's whole cost"),
        Row(f"(d) no-op harness + order generation (the orders model), {orders:,} orders vs generating them alone",
            "none (no-op model store)", "orders/s", generation["sandbox"], generation["bare"], harness_target=None,
            note="one process; the generator's 5x goal is not reachable with the same bytes: docs/measurement.md"),
    ], rss
