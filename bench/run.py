"""`make bench`: the sandbox and each store's native tool on the same work, same machine, one run.

Prints a markdown table of throughputs and their ratio (sandbox / native) and writes it to
bench/out/results.md. Targets are printed next to the ratios; they are goals, not tests.
Run with the native stack up (`make bench` brings it up); honours SANDBOX_PORT_OFFSET.

    python -m bench.run [--quick] [--only redis,postgres,bulk,noop]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench import natives
from sandbox.config import Workspace, endpoint, load_settings
from sandbox.measure.load import LoadPlan, drive
from sandbox.measure.timing import TimedStore
from sandbox.scenario.runner import run_loop
from sandbox.stores import make_store
from sandbox.stores.base import Store, StoreOptions
from sandbox.workload.generator import Workload, WorkloadSpec
from sandbox.workload.model import Order

OUT = Path(__file__).resolve().parent / "out"
PG_BIN = Path("/usr/lib/postgresql/15/bin")


@dataclass
class Row:
    bench: str
    sandbox: float | None  # ops (or orders) per second
    native: float | None
    unit: str
    target: float | None  # ratio goal
    note: str = ""

    @property
    def ratio(self) -> float | None:
        return self.sandbox / self.native if self.sandbox and self.native else None


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
        raise SystemExit(f"{Path(args[0]).name} failed: {done.stderr.strip()[:300]}")
    return seconds, done.stdout


async def timed_drive(ts: TimedStore, work: Any, fn: Callable[[Any], Awaitable[object]], plan: LoadPlan) -> float:
    """Ops/s of `fn(item)` through the timing wrapper (all three times recorded) under `plan`."""
    async def do(item: Any, intended_ns: int, begun_ns: int) -> None:
        await ts.call("op", lambda: fn(item), (), intended_ns, begun_ns)

    result = await drive(work, do, plan)
    stats = ts.op("op")
    stats.flush()
    if stats.failed or stats.unknown:
        raise SystemExit(f"{ts.name}: {stats.failed + stats.unknown} operations failed: {stats.first_errors}")
    return stats.ok / result.measured_s


async def open_store(name: str, settings: Any, namespace: str, connections: int, catalog: Any) -> Store:
    store = make_store(name, endpoint(settings, name), namespace, StoreOptions(connections=connections))
    await store.connect()
    await store.prepare(catalog)
    return store


async def close_store(store: Store) -> None:
    try:
        await store.teardown()
    finally:
        await store.close()


def run_id() -> str:
    return f"sbx_bench_{os.getpid()}_{int(time.time())}"


# (a) Redis SET at concurrency 50 ------------------------------------------------------------------
async def bench_redis(settings: Any, workload: Workload, n: int) -> Row:
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


# (b) PostgreSQL order + items insert at concurrency 8 ------------------------------------------------
async def bench_postgres(settings: Any, workload: Workload, seconds: float) -> Row:
    url = urlsplit(settings.postgres_url)
    ns = run_id()
    store = await open_store("postgres", settings, ns, 8, workload.catalog)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            script = Path(tmp) / "insert_order.sql"
            script.write_text(natives.pgbench_script(ns, workload.catalog))
            _, out = run_tool([tool("pgbench"), "-n", "-c", "8", "-j", "2", "-T", f"{seconds:g}", "-M", "prepared",
                               "-f", str(script), "-h", url.hostname or "127.0.0.1", "-p", str(url.port),
                               "-U", url.username or "sandbox", (url.path or "/sandbox").lstrip("/")],
                              env={"PGPASSWORD": url.password or ""})
        native = float(next(ln for ln in out.splitlines() if ln.startswith("tps =")).split()[2])
        # Orders made beforehand: this compares the write path, not the generator (bench (d) covers that).
        orders = list(workload.orders(0, int(native * seconds * 2) + 1000))
        sandbox = await timed_drive(TimedStore(store), iter(orders), store.write, LoadPlan(8, duration_s=seconds))
    finally:
        await close_store(store)
    return Row("(b) PostgreSQL order+items insert (INSERT_ORDER), 8 concurrent: asyncpg via TimedStore vs pgbench "
               "-c 8 -M prepared", sandbox, native, "tx/s", 0.9)


# (c) bulk loads --------------------------------------------------------------------------------------
async def bench_bulk(settings: Any, workload: Workload, n: int, batch: int) -> list[Row]:
    orders = list(workload.orders(0, n))
    rows = []
    for name in ("postgres", "redis", "elastic", "influx", "mongo"):
        if name == "mongo" and shutil.which("mongoimport") is None:
            rows.append(Row("(c) bulk load, mongo", None, None, "orders/s", 0.8,
                            "no native loader here (mongoimport not installed)"))
            continue
        ours = await open_store(name, settings, run_id() + "_s", 2, workload.catalog)
        theirs = await open_store(name, settings, run_id() + "_n", 2, workload.catalog)
        try:
            ts = TimedStore(ours)
            start = time.perf_counter()
            batches = (orders[i:i + batch] for i in range(0, n, batch))
            await timed_drive(ts, batches, ours.write_batch, LoadPlan(1))
            sandbox = n / (time.perf_counter() - start)
            with tempfile.TemporaryDirectory() as tmp:
                seconds, how = native_load(name, Path(tmp), theirs, orders, batch, settings)
            native = n / seconds
            for store in (ours, theirs):
                held = sum(t.count for t in (await store.aggregates()).values())
                if held != n:
                    raise SystemExit(f"bulk {name}: {store.namespace} holds {held} orders, expected {n}")
        finally:
            await close_store(ours)
            await close_store(theirs)
        rows.append(Row(f"(c) bulk load {n:,} orders, {name}: write_batch({batch}) via TimedStore vs {how}",
                        sandbox, native, "orders/s", 0.8))
    return rows


def native_load(name: str, tmp: Path, store: Store, orders: list[Order], batch: int, settings: Any
                ) -> tuple[float, str]:
    """Build the native loader's input (not timed), then time the loader."""
    if name == "postgres":
        url = urlsplit(settings.postgres_url)
        script = natives.postgres_copy(tmp, store.namespace, orders)
        return run_tool([tool("psql"), "-q", "-v", "ON_ERROR_STOP=1", "-h", url.hostname or "", "-p", str(url.port),
                         "-U", url.username or "", "-d", url.path.lstrip("/"), "-f", str(script)],
                        env={"PGPASSWORD": url.password or ""})[0], "psql \\copy (orders, items)"
    if name == "redis":
        url = urlsplit(settings.redis_url)
        data = natives.redis_protocol(tmp / "load.resp", store, orders)  # type: ignore[arg-type]
        return run_tool([tool("redis-cli"), "-h", url.hostname or "", "-p", str(url.port), "--pipe"],
                        env={"REDISCLI_AUTH": url.password or ""}, stdin=data)[0], "redis-cli --pipe (same commands)"
    if name == "elastic":
        files = natives.elastic_bulk(tmp, store.index, orders, batch)  # type: ignore[attr-defined]
        target = settings.elastic_url.rstrip("/") + "/_bulk"
        header = ["-H", "Content-Type: application/x-ndjson"]
    else:
        files = natives.influx_lines(tmp, orders, batch)
        target = settings.influx_url.rstrip("/") + f"/write?db={store.namespace}&precision=ms"
        header = []
    args = [tool("curl"), "-sS", "-f"]
    for i, f in enumerate(files):
        args += (["--next"] if i else []) + ["-o", "/dev/null", "-XPOST", *header, "--data-binary", f"@{f}", target]
    how = f"curl _bulk ({batch} per request)" if name == "elastic" else f"curl line protocol ({batch} per request)"
    return run_tool(args)[0], how


# (d) no-op harness: throughput and memory --------------------------------------------------------------
NOOP_CHILD = """
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


def noop_child(ops: int, generate: bool) -> dict[str, float]:
    done = subprocess.run([sys.executable, "-c", NOOP_CHILD, str(ops), "generate" if generate else "reuse"],
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def bench_noop(big: int, small: int) -> list[Row]:
    harness = noop_child(big, generate=False)
    small_run, big_run = noop_child(small, generate=True), noop_child(big, generate=True)
    return [
        Row(f"(d) no-op harness, {big:,} ops, 8 concurrent, 3 times recorded (target 250,000 ops/s)",
            harness["ops_s"], 250_000, "ops/s", 1.0, f"client cpu {harness['cpu']:.0%} of a core"),
        Row(f"(d) no-op + order generation, {big:,} orders (vs {small:,})", big_run["ops_s"], small_run["ops_s"],
            "orders/s", None, "generation dominates; see docs/measurement.md"),
        Row(f"(d) peak RSS, {big:,} orders vs {small:,} (must stream: <= 1.5x)", big_run["rss_mb"],
            small_run["rss_mb"], "MB", None, "ratio here is memory growth: lower is better, goal <= 1.5"),
    ]


# -----------------------------------------------------------------------------------------------------
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


async def main_async(args: argparse.Namespace) -> list[Row]:
    ws = Workspace.from_env(dict(os.environ))
    settings = load_settings("native", ws)
    workload = Workload(WorkloadSpec(args.seed, 10**9))
    rows: list[Row] = []
    only = set(args.only.split(","))
    if "redis" in only:
        rows.append(await bench_redis(settings, workload, args.redis_ops))
    if "postgres" in only:
        rows.append(await bench_postgres(settings, workload, args.seconds))
    if "bulk" in only:
        rows += await bench_bulk(settings, workload, args.bulk_orders, 1000)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes (a smoke run, noisier ratios)")
    parser.add_argument("--only", default="redis,postgres,bulk,noop")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    args.redis_ops, args.seconds, args.bulk_orders = (20_000, 2.0, 2_000) if args.quick else (200_000, 5.0, 20_000)
    started = time.perf_counter()
    rows = run_loop(main_async(args))
    if "noop" in args.only:
        rows += bench_noop(100_000 if args.quick else 1_000_000, 10_000)
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
