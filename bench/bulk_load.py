"""(c) Bulk loads: each adapter's write_batch through TimedStore vs the store's own bulk loader, same orders."""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench import natives
from bench.common import Row, close_store, open_store, run_id, run_tool, timed_drive, tool
from sandbox.measure.load import LoadPlan
from sandbox.measure.timing import TimedStore
from sandbox.stores.base import Store
from sandbox.workload.generator import Workload
from sandbox.workload.model import Order

STORES = ("postgres", "redis", "elastic", "influx", "mongo")


async def bench(settings: Any, workload: Workload, n: int, batch: int) -> list[Row]:
    orders = list(workload.orders(0, n))
    rows = []
    for name in STORES:
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
    """Build the native loader's input with the adapter's own rendering (not timed), then time the loader."""
    if name == "postgres":
        url = urlsplit(settings.postgres_url)
        script = natives.postgres_copy(tmp, store, orders)
        return run_tool([tool("psql"), "-q", "-v", "ON_ERROR_STOP=1", "-h", url.hostname or "", "-p", str(url.port),
                         "-U", url.username or "", "-d", url.path.lstrip("/"), "-f", str(script)],
                        env={"PGPASSWORD": url.password or ""})[0], "psql \\copy (orders, items)"
    if name == "redis":
        url = urlsplit(settings.redis_url)
        data = natives.redis_protocol(tmp / "load.resp", store, orders)
        return run_tool([tool("redis-cli"), "-h", url.hostname or "", "-p", str(url.port), "--pipe"],
                        env={"REDISCLI_AUTH": url.password or ""}, stdin=data)[0], "redis-cli --pipe (same commands)"
    if name == "elastic":
        files = natives.elastic_bulk(tmp, store, orders, batch)
        target = settings.elastic_url.rstrip("/") + "/_bulk"
        header = ["-H", "Content-Type: application/x-ndjson"]
    else:
        files = natives.influx_lines(tmp, store, orders, batch)
        target = settings.influx_url.rstrip("/") + f"/write?db={store.namespace}&precision=ms"
        header = []
    args = [tool("curl"), "-sS", "-f"]
    for i, f in enumerate(files):
        args += (["--next"] if i else []) + ["-o", "/dev/null", "-XPOST", *header, "--data-binary", f"@{f}", target]
    how = f"curl _bulk ({batch} per request)" if name == "elastic" else f"curl line protocol ({batch} per request)"
    return run_tool(args)[0], how
