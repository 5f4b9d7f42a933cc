"""`make bench`: the sandbox and each store's native tool on the same work, same machine, one run.

Prints a markdown table of throughputs and their ratio (sandbox / native) and writes it to
bench/out/results.md. Targets are printed next to the ratios; they are goals, not tests.
Run with the native stack up (`make bench` brings it up); honours SANDBOX_PORT_OFFSET.
One module per benchmark: redis_set.py (a), pg_order_tx.py (b), bulk_load.py (c), noop.py and memory.py (d).

    python -m bench.run [--quick] [--only redis,postgres,bulk,noop]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from bench import bulk_load, memory, noop, pg_order_tx, redis_set
from bench.common import Row
from sandbox.config import Workspace
from sandbox.scenario.runner import run_loop
from sandbox.stores.registry import StoreRegistry
from sandbox.workload.generator import Workload, WorkloadSpec

OUT = Path(__file__).resolve().parent / "out"


def table(rows: list[Row], header: str) -> str:
    lines = [header, "", "| benchmark | sandbox | native / reference | unit | ratio | target | met |",
             "|---|---:|---:|---|---:|---:|---|"]
    for r in rows:
        ratio = r.ratio
        if r.unit == "MB":
            met = "yes" if ratio is not None and ratio <= 1.5 else "NO"
            target = "<= 1.5"
        elif r.target is None:
            met, target = "-", "-"
        else:
            met = "-" if ratio is None else ("yes" if ratio >= r.target else "NO")
            target = f">= {r.target:g}"
        digits = 1 if r.unit == "MB" else 0
        lines.append(f"| {r.bench}{' — ' + r.note if r.note else ''} | {_num(r.sandbox, digits)} "
                     f"| {_num(r.native, digits)} | {r.unit} "
                     f"| {'-' if ratio is None else f'{ratio:.2f}'} | {target} | {met} |")
    return "\n".join(lines) + "\n"


def _num(value: float | None, digits: int) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


async def against_stores(args: argparse.Namespace) -> list[Row]:
    ws = Workspace.from_env(dict(os.environ))
    settings = StoreRegistry.built_in().settings("native", ws)
    workload = Workload(WorkloadSpec(args.seed, 10**9))
    rows: list[Row] = []
    only = set(args.only.split(","))
    if "redis" in only:
        rows.append(await redis_set.bench(settings, workload, args.redis_ops))
    if "postgres" in only:
        rows.append(await pg_order_tx.bench(settings, workload, args.seconds))
    if "bulk" in only:
        rows += await bulk_load.bench(settings, workload, args.bulk_orders, 1000)
    return rows


def harness_alone(big: int, small: int) -> list[Row]:
    harness = noop.child(big, generate=False)
    small_run, big_run = noop.child(small, generate=True), noop.child(big, generate=True)
    return noop.rows(big, small, harness, small_run, big_run) + memory.rows(big, small, small_run, big_run)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes (a smoke run, noisier ratios)")
    parser.add_argument("--only", default="redis,postgres,bulk,noop")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    args.redis_ops, args.seconds, args.bulk_orders = (20_000, 2.0, 2_000) if args.quick else (200_000, 5.0, 20_000)
    started = time.perf_counter()
    rows = run_loop(against_stores(args))
    if "noop" in args.only:
        rows += harness_alone(100_000 if args.quick else 1_000_000, 10_000)
    header = (f"# bench: sandbox vs native tools ({time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores, "
              f"python {sys.version.split()[0]}, {time.perf_counter() - started:.0f} s)\n\n"
              f"Reproduce: `make bench` (or `python -m bench.run {' '.join(sys.argv[1:])}`). "
              "ratio = sandbox / native; the machine is shared, expect +-30% noise.")
    text = table(rows, header)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "results.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
