"""(c) Bulk loads of the same N orders (the orders model's root instances) in batches, through each store's
model store: write_batch through TimedStore, write_batch in a bare loop, and the store's own loader doing the
same per-batch work:
- PostgreSQL: psql, each batch in its own transaction (BEGIN; \\copy orders; \\copy order_items; COMMIT);
- Redis: redis-cli --pipe with the model store's EVALSHA per order, each batch in MULTI/EXEC as write_batch sends it;
- Elasticsearch: curl, one _bulk request per batch; InfluxDB: curl, one line-protocol write per batch;
- MongoDB: no native loader on this machine (mongoimport is not packaged): sandbox and bare only.
Native inputs are built from the model stores' own rendering before the clock; the loader's start-up (the
same tool run on an empty input, measured right before) is subtracted from its time.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench import natives
from bench.common import (
    Row,
    bare_rate,
    close_store,
    held,
    open_store,
    run_id,
    run_tool,
    sandbox_rate,
    server_calls,
    tool,
)
from bench.repeats import SideResult, alternate
from sandbox.measure.load import LoadPlan
from sandbox.measure.timing import TimedStore
from sandbox.workload.dataset import Dataset, Instance

STORES = ("postgres", "redis", "elastic", "influx", "mongo")
# What cProfile of the bare loop found (3,000 orders; docs/measurement.md, "Benchmarks").
WHY_LIBRARY = {
    "postgres": "write_batch is one INSERT ... SELECT FROM unnest() statement per batch (server calls column), psql "
                "four (BEGIN, two COPYs, COMMIT) but COPY is the server's cheapest way in; not profiled again since "
                "the batch became one statement (the client's share: the harness CPU column).",
    "redis": "redis-py packs ~20 arguments per order's EVALSHA in Python (pack_command + encode: most of the "
             "client's time under cProfile); redis-cli --pipe streams bytes built before its clock.",
    "influx": "the model store builds line protocol in Python (~6 us of CPU per order); curl posts bytes built "
              "before its clock.",
}
HOW = {"postgres": "psql \\copy, a transaction per batch",
       "redis": "redis-cli --pipe, the same EVALSHA per order, MULTI/EXEC per batch",
       "elastic": "curl _bulk per batch", "influx": "curl line protocol per batch"}


async def bench(settings: Any, data: Dataset, n: int, batch: int, stores: tuple[str, ...] = STORES) -> list[Row]:
    unknown = set(stores) - set(STORES)
    if unknown:
        raise SystemExit(f"--bulk-stores: unknown {', '.join(sorted(unknown))}; choose from {', '.join(STORES)}")
    orders = list(data.roots(0, n))
    batches = [orders[i:i + batch] for i in range(0, n, batch)]
    rows = []
    for name in stores:
        native = name != "mongo" or shutil.which("mongoimport") is not None
        server = ""

        def side(how: str, name: str = name) -> Callable[[], Awaitable[SideResult]]:
            async def run() -> SideResult:
                nonlocal server
                store, server = await open_store(name, settings, run_id(how[0]), 2, data)
                try:
                    calls = len(batches)  # server calls are counted per batch: one each is the goal
                    if how == "sandbox":
                        rate = await server_calls(store, calls, sandbox_rate(TimedStore(store), batches,
                                                                             store.write_batch, LoadPlan(1), batch))
                    elif how == "bare":
                        rate = await server_calls(store, calls, bare_rate(batches, store.write_batch, 1, batch))
                    else:
                        with tempfile.TemporaryDirectory() as tmp:
                            rate = await server_calls(store, calls, native_load(name, Path(tmp), store, orders,
                                                                                batch, settings))
                    if (got := await held(store)) != n:
                        raise SystemExit(f"bulk {name} {how}: {store.namespace} holds {got} orders, expected {n}")
                    return rate
                finally:
                    await close_store(store)
            return run

        sides = ("sandbox", "bare", "native") if native and name != "mongo" else ("sandbox", "bare")
        samples = await alternate({how: side(how) for how in sides})
        vs = f" vs {HOW[name]}" if name in HOW else ""
        rows.append(Row(f"(c) bulk load {n:,} orders, {name}: write_batch({batch}){vs}", server, "orders/s",
                        samples["sandbox"], samples["bare"], samples.get("native"), harness_target=0.9,
                        library_target=0.8 if name in HOW else None,
                        note="" if name in HOW else "no native loader here (mongoimport is not packaged)",
                        calls_unit="batch",
                        why_library=WHY_LIBRARY.get(name, "")))
    return rows


async def native_load(name: str, tmp: Path, store: Any, orders: list[Instance], batch: int, settings: Any
                      ) -> float:
    """Build the loader's input (not timed), then the loader's orders/s, timed minus its start-up on an empty
    input."""
    return len(orders) / _native_seconds(name, tmp, store, orders, batch, settings)


def _native_seconds(name: str, tmp: Path, store: Any, orders: list[Instance], batch: int, settings: Any) -> float:
    if name == "postgres":
        url = urlsplit(settings.postgres_url)
        script = natives.postgres_copy(tmp, store, orders, batch)
        psql = [tool("psql"), "-q", "-v", "ON_ERROR_STOP=1", "-h", url.hostname or "", "-p", str(url.port),
                "-U", url.username or "", "-d", url.path.lstrip("/")]
        env = {"PGPASSWORD": url.password or ""}
        empty = tmp / "empty.sql"
        empty.write_text("SELECT 1;\n")
        return _minus_startup(run_tool([*psql, "-f", str(script)], env)[0], run_tool([*psql, "-f", str(empty)], env)[0])
    if name == "redis":
        url = urlsplit(settings.redis_url)
        data = natives.redis_protocol(tmp / "load.resp", store, orders, batch)
        cli = [tool("redis-cli"), "-h", url.hostname or "", "-p", str(url.port),
               *(["--user", url.username] if url.username else []), "--pipe"]  # the run's ACL user
        env = {"REDISCLI_AUTH": url.password or ""}
        empty = tmp / "empty.resp"
        empty.write_bytes(b"")
        return _minus_startup(run_tool(cli, env, stdin=data)[0], run_tool(cli, env, stdin=empty)[0])
    if name == "elastic":
        files = natives.elastic_bulk(tmp, store, orders, batch)
        base = settings.elastic_url.rstrip("/")
        target, header, ping = base + "/_bulk", ["-H", "Content-Type: application/x-ndjson"], base + "/"
    else:
        files = natives.influx_lines(tmp, store, orders, batch)
        base = settings.influx_url.rstrip("/")
        target, header, ping = base + f"/write?db={store.namespace}&precision=ms", [], base + "/ping"
    args = [tool("curl"), "-sS", "-f"]
    for i, f in enumerate(files):
        args += (["--next"] if i else []) + ["-o", "/dev/null", "-XPOST", *header, "--data-binary", f"@{f}", target]
    return _minus_startup(run_tool(args)[0], run_tool([tool("curl"), "-sS", "-f", "-o", "/dev/null", ping])[0])


def _minus_startup(seconds: float, startup: float) -> float:
    """The loader's own time: its wall time minus start-up and connect (the same tool on an empty input).
    Never less than half its wall time: a noisy start-up sample must not make a loader look twice as fast."""
    return max(seconds - startup, seconds / 2)
