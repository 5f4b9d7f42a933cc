"""(b) PostgreSQL order + items insert at concurrency 8: the adapter's write vs pgbench on its INSERT_ORDER."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench import natives
from bench.common import Row, close_store, open_store, run_id, run_tool, timed_drive, tool
from sandbox.measure.load import LoadPlan
from sandbox.measure.timing import TimedStore
from sandbox.workload.generator import Workload


async def bench(settings: Any, workload: Workload, seconds: float) -> Row:
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
