"""(d) The harness alone against the no-op store: operations per second, with and without order generation.

Each measurement runs in a fresh Python process so its peak memory is its own (bench/memory.py reads it).
"""

from __future__ import annotations

import json
import subprocess
import sys

from bench.common import Row

CHILD = """
import json, sys
from sandbox.measure.calibrate import measure_harness
from sandbox.measure.load import LoadPlan
from sandbox.scenario.runner import run_loop
ops, generate = int(sys.argv[1]), sys.argv[2] == "generate"
c = run_loop(measure_harness(ops, LoadPlan(8), generate=generate))
# VmHWM (peak RSS of this process image): ru_maxrss would carry the parent's peak over fork + exec.
hwm_kb = next(int(ln.split()[1]) for ln in open("/proc/self/status") if ln.startswith("VmHWM:"))
rss_mb = hwm_kb / 1024
print(json.dumps({"ops_s": c.ops_per_s, "cpu": c.cpu, "rss_mb": rss_mb}))
"""


def child(ops: int, generate: bool) -> dict[str, float]:
    """One harness run in its own process: ops/s, client CPU share, peak RSS (MB)."""
    done = subprocess.run([sys.executable, "-c", CHILD, str(ops), "generate" if generate else "reuse"],
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def rows(big: int, small: int, harness: dict[str, float], small_run: dict[str, float], big_run: dict[str, float]
         ) -> list[Row]:
    return [
        Row(f"(d) no-op harness, {big:,} ops, 8 concurrent, 3 times recorded (target 250,000 ops/s)",
            harness["ops_s"], 250_000, "ops/s", 1.0, f"client cpu {harness['cpu']:.0%} of a core"),
        Row(f"(d) no-op + order generation, {big:,} orders (vs {small:,})", big_run["ops_s"], small_run["ops_s"],
            "orders/s", None, "generation dominates; see docs/measurement.md"),
    ]
