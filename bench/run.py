"""`make bench`: every benchmark three ways (sandbox, bare client, native tool), same machine, one run.

Prints markdown tables and writes them to bench/out/results.md: per row the server that answered, the
median and spread of each side over repeats run in alternating order, sandbox/bare (the harness's
cost) and bare/native (the client library's), each next to its goal. Goals are targets printed with
the measurements, never tests. Run with the native stack up (`make bench` brings it up); honours
SANDBOX_PORT_OFFSET. One module per benchmark: redis_set.py (a), pg_order_tx.py (b), bulk_load.py (c),
noop.py and memory.py (d), workers.py (e), soak.py (f: a 10-minute run at a fixed rate, the client's
RSS and open-fd slope; 60 s with --quick), clients.py (g: MongoDB and Elasticsearch client libraries),
isolation_checker.py (h: the isolation checker, no server). Row (i), the model engine against the hand-written
order path, went with that path (its last numbers: docs/measurement.md).

    python -m bench.run [--quick] [--only redis,postgres,bulk,noop,run-memory,workers,soak,clients,isolation]
                        [--soak-s 600]
                        [--bulk-orders N] [--bulk-stores postgres,redis,elastic,influx,mongo]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from bench import (
    bulk_load,
    clients,
    isolation_checker,
    memory,
    noop,
    pg_order_tx,
    redis_set,
    soak,
    why,
    workers,
)
from bench.common import Row, orders_data
from bench.repeats import REPEATS, Samples, ratio
from sandbox.config import Workspace
from sandbox.scenario.runner import run_loop
from sandbox.stores.registry import StoreRegistry
from sandbox.workload import model_file

OUT = Path(__file__).resolve().parent / "out"
ORDERS_MODEL = model_file.load(Path(__file__).resolve().parent.parent / "models" / "orders.toml")
WORKER_STORES = ("postgres", "redis", "influx")


def _cell(s: Samples | None, digits: int = 0) -> str:
    return "-" if s is None else s.cell(digits)


def _calls(row: Row) -> str:
    """Server calls per unit on each side, by the server's own counter: unlike work shows here first."""
    sides = [row.sandbox, row.bare, *([row.native] if row.native is not None else [])]
    shown = ["-" if (c := s.calls_median) is None else f"{c:,.0f}" if c >= 100 else f"{c:.3g}" for s in sides]
    return "-" if set(shown) == {"-"} else " · ".join(shown) + (f" per {row.calls_unit}" if row.calls_unit else "")


def _goal(value: float | None, goal: float | None) -> tuple[str, str]:
    shown = "-" if value is None else f"{value:.2f}"
    if goal is None:
        return shown, "-"
    return shown, f">= {goal:g} {'met' if value is not None and value >= goal else 'NOT met'}"


def table(rows: list[Row]) -> str:
    lines = ["| benchmark | server | sandbox | bare client | native | unit | sandbox/bare | goal | harness CPU "
             "| bare/native | goal | server calls/unit (sandbox · bare · native) |",
             "|---|---|---:|---:|---:|---|---:|---|---:|---:|---|---:|"]
    for r in rows:
        extra = r.harness_cpu_us
        cpu = "-" if extra is None or r.bare.cpu_median is None else (
            f"{extra:+.1f} µs ({extra / r.bare.cpu_median:+.0%})" if r.bare.cpu_median >= 0.5 else f"{extra:+.1f} µs")
        harness, harness_goal = _goal(r.harness_ratio, r.harness_target)
        library, library_goal = _goal(r.library_ratio, r.library_target)
        if r.rate_target is not None:
            met = r.sandbox.median is not None and r.sandbox.median >= r.rate_target
            harness_goal = f"sandbox >= {r.rate_target:,.0f} {r.unit}: {'met' if met else 'NOT met'}"
        lines.append(f"| {r.bench}{' — ' + r.note if r.note else ''} | {r.server} | {_cell(r.sandbox)} "
                     f"| {_cell(r.bare)} | {_cell(r.native)} | {r.unit} | {harness} | {harness_goal} | {cpu} "
                     f"| {library} | {library_goal} | {_calls(r)} |")
    return "\n".join(lines) + "\n"


def workers_table(results: dict[str, dict[str, Samples]], servers: dict[str, str], orders: int) -> str:
    lines = [f"(e) load workers: the same {orders:,} orders written by 1 and by 2 `sandbox worker` processes per "
             f"store (merged exactly); this machine has {os.cpu_count()} cores, shared with the stores' servers "
             "and anything else running", "",
             "| store | server | 1 worker (orders/s) | 2 workers (orders/s) | 2 / 1 |", "|---|---|---:|---:|---:|"]
    for name, samples in results.items():
        two_by_one = ratio(samples["2"], samples["1"])
        lines.append(f"| {name} | {servers[name]} | {_cell(samples['1'])} | {_cell(samples['2'])} "
                     f"| {'-' if two_by_one is None else f'{two_by_one:.2f}'} |")
    return "\n".join(lines) + "\n"


async def against_stores(args: argparse.Namespace, settings: object) -> list[Row]:
    data = orders_data(args.seed)
    rows: list[Row] = []
    only = set(args.only.split(","))
    if "redis" in only:
        rows += await redis_set.bench(settings, data, args.redis_ops)
    if "postgres" in only:
        rows.append(await pg_order_tx.bench(settings, data, args.pg_orders))
    if "bulk" in only:
        rows += await bulk_load.bench(settings, data, args.bulk_orders, 1000, tuple(args.bulk_stores.split(",")))
    return rows


async def with_workers(args: argparse.Namespace, settings: object) -> tuple[dict[str, dict[str, Samples]],
                                                                             dict[str, str]]:
    results, servers = {}, {}
    for name in WORKER_STORES:
        results[name], servers[name] = await workers.bench(settings, name, args.seed, args.worker_orders)
    return results, servers


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes (a smoke run, noisier ratios)")
    parser.add_argument("--only", default="redis,postgres,bulk,noop,run-memory,workers,soak,clients,isolation")
    parser.add_argument("--soak-s", type=float, default=None, help="soak length in seconds (600; 60 with --quick)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--bulk-orders", type=int, default=None,
                        help="orders per bulk load (10,000; quick: 2,000)")
    parser.add_argument("--bulk-stores", default=",".join(bulk_load.STORES), help="which stores the bulk loads cover")
    args = parser.parse_args()
    (args.redis_ops, args.pg_orders, bulk_orders, args.noop_ops, args.gen_orders, args.worker_orders,
     args.client_writes) = ((5_000, 1_600, 2_000, 100_000, 20_000, 2_000, 400) if args.quick
                            else (50_000, 8_000, 10_000, 1_000_000, 200_000, 10_000, 2_000))
    args.bulk_orders = args.bulk_orders or bulk_orders
    started = time.perf_counter()
    settings = StoreRegistry.load(os.environ).settings("native", Workspace.from_env(dict(os.environ)))
    rows = run_loop(against_stores(args, settings))
    sections = []
    if "noop" in args.only:
        noop_rows, rss = run_loop(noop.bench(args.noop_ops, args.gen_orders))
        rows += noop_rows
        sections.append(memory.line(args.gen_orders, 10_000, rss))
    if "run-memory" in args.only:  # (d) issue 30: write + compare at 10x the entities
        sections.append(memory.run_line(*((20_000, 200_000) if args.quick else (100_000, 1_000_000))))
    if "isolation" in args.only:  # (h) no server: bench/isolation_checker.py
        rows += run_loop(isolation_checker.bench(20_000 if args.quick else 100_000))
    if "redis" in args.only:
        sections.append(redis_set.client_verdict([r for r in rows if r.bench.startswith("(a)")]))
    if "clients" in args.only:
        sections.append(run_loop(clients.bench(settings, orders_data(args.seed), args.client_writes,
                                               args.bulk_orders)))
    if "workers" in args.only:
        sections.append(workers_table(*run_loop(with_workers(args, settings)), args.worker_orders))
    if "soak" in args.only:
        sections.append(soak.section(args.soak_s or (60.0 if args.quick else 600.0), rate=200))
    header = (f"# bench: sandbox vs bare client vs native tool ({time.strftime('%Y-%m-%d %H:%M')}, "
              f"{os.cpu_count()} cores, python {sys.version.split()[0]}, {time.perf_counter() - started:.0f} s)\n\n"
              f"Reproduce: `make bench` (or `python -m bench.run {' '.join(sys.argv[1:])}`). Each side ran "
              f"{REPEATS} times in alternating order, each in a fresh namespace with its connections open before "
              "its clock; cells are medians ± half the lowest-to-highest spread. sandbox/bare = the harness's own "
              "cost; bare/native = the client library's. The machine is shared: read the spreads. harness CPU = "
              "the client process's CPU time per unit, sandbox minus bare (medians): the harness's own cost, which "
              "other processes disturb far less than the wall clock. server calls/unit = what the server's own "
              "counter of calls (pg_stat_statements, INFO commandstats, SHOW STATS) grew by per unit on each side "
              "(medians; a snapshot's own calls taken off, the native tool's set-up included): unlike work shows "
              "there.\n")
    text = "\n".join([header, *([table(rows), why.section(rows)] if rows else []), *sections])
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "results.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
