"""(d) Memory: the workload streams and compare keeps no copy of it, so peak RSS must not grow with the order
count (goal <= 1.5x): generation alone, and a whole run (write + compare) against real stores."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.noop import child
from bench.repeats import Samples


def line(big: int, small: int, big_rss: Samples) -> str:
    """Peak RSS of generating and writing `big` orders (the noop bench's runs) vs `small`, in one line."""
    small_rss = child(small, "generate")["rss_mb"]
    growth = (big_rss.median or 0.0) / small_rss
    return (f"Memory: peak RSS {big_rss.median:.1f} MB for {big:,} generated orders vs {small_rss:.1f} MB for "
            f"{small:,}: {growth:.2f}x (goal <= 1.5x: {'met' if growth <= 1.5 else 'NOT met'}; the stream is "
            "never held in memory).")


RUN_STORES = ("postgres", "redis")  # fast batch paths and reads by key; the row measures the client, not a server
# (not InfluxDB: a read by key is a scan of the measurement, ~1 min per read at 1M orders here)


def run_rss(orders: int, stores: tuple[str, ...], out: Path) -> tuple[float, dict[str, str]]:
    """Peak RSS (MB) of one whole `sandbox run orders` (prepare, write in batches, read, compare) in its own
    process, from the kernel's account of that child (wait4), and each store's verdict."""
    command = [sys.executable, "-m", "sandbox", "run", "orders", "--count", str(orders), "--batch", "1000",
               "--stores", ",".join(stores), "--seed", "1"]
    out.mkdir(parents=True)
    with (out / "stderr.txt").open("w") as err:  # a file, not a pipe: a full pipe would stall the child
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=err,
                                env={**os.environ, "SANDBOX_RESULTS_DIR": str(out)})
        _, status, usage = os.wait4(proc.pid, 0)
    errors = (out / "stderr.txt").read_text()
    if os.waitstatus_to_exitcode(status) not in (0, 3):
        raise SystemExit(f"(d) run memory: `{' '.join(command[1:])}` failed: {errors.strip()[-300:]}")
    summary = json.loads(next(out.glob("*-orders/summary.json")).read_text())
    verdicts = {name: _verdict(s.get("consistency") or {}) for name, s in summary["stores"].items()}
    return usage.ru_maxrss / 1024, verdicts  # ru_maxrss is in KiB on Linux


def _verdict(c: dict[str, object]) -> str:
    """A store's consistency verdict in words, with why where it is not consistent."""
    if c.get("consistent") is None:
        return "not compared"
    if c["consistent"]:
        return "consistent"
    why = c.get("error") or ", ".join(f"{c[k]} {k}" for k in ("missing", "extra", "duplicates", "differing")
                                      if c.get(k))
    return f"NOT consistent ({str(why)[:200] or 'see its summary.json'})"


def run_line(small: int, big: int, stores: tuple[str, ...] = RUN_STORES) -> str:
    """Issue 30: a whole run's memory is flat in the number of entities, compare included (goal <= 1.5x)."""
    with tempfile.TemporaryDirectory(prefix="bench-rss-") as tmp:
        small_mb, _ = run_rss(small, stores, Path(tmp) / "small")
        big_mb, big_ok = run_rss(big, stores, Path(tmp) / "big")
    growth = big_mb / small_mb
    verdicts = ", ".join(f"{n} {verdict}" for n, verdict in big_ok.items())
    return (f"Run memory: peak RSS of `sandbox run orders --batch 1000 --stores {','.join(stores)}` (write + read + "
            f"compare) {big_mb:.1f} MB at {big:,} orders vs {small_mb:.1f} MB at {small:,}: {growth:.2f}x (goal <= "
            f"1.5x: {'met' if growth <= 1.5 else 'NOT met'}); at {big:,}: {verdicts}.")
