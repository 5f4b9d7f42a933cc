"""(b) PostgreSQL order + items, one statement per order (one round trip: a prepared statement, no
separate BEGIN/COMMIT), 8 concurrent, the same N orders on every side, through the PostgreSQL model store
(the orders model's normalized design):
- sandbox: its write through TimedStore and the driver;
- bare: its write in a plain loop of 8 tasks (asyncpg, the same pool size);
- native: pgbench -c 8 -M prepared running the same statement, order by order from a staging table
  filled with the same orders' parameters before the clock starts (client c takes orders c, c+8, ...).
Every side writes into a fresh schema with the reference data loaded; pgbench's tps excludes its connection time.
"""

from __future__ import annotations

import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench import natives
from bench.common import Row, bare_rate, close_store, held, open_store, run_id, run_tool, sandbox_rate, tool
from bench.repeats import SideResult, alternate
from sandbox.measure.load import LoadPlan
from sandbox.measure.timing import TimedStore
from sandbox.workload.dataset import Dataset

CLIENTS = 8


async def bench(settings: Any, data: Dataset, n: int) -> Row:
    n -= n % CLIENTS  # every pgbench client runs the same number of transactions
    orders = list(data.roots(0, n))
    server = ""

    def side(how: str) -> Callable[[], Awaitable[SideResult]]:
        async def run() -> SideResult:
            nonlocal server
            store, server = await open_store("postgres", settings, run_id(how[0]), CLIENTS, data)
            try:
                rate: SideResult
                if how == "sandbox":
                    rate = await sandbox_rate(TimedStore(store), orders, store.write, LoadPlan(CLIENTS))
                elif how == "bare":
                    rate = await bare_rate(orders, store.write, CLIENTS)
                else:
                    rate = await _pgbench(settings, store, orders)
                if (got := await held(store)) != n:
                    raise SystemExit(f"(b) {how}: {store.namespace} holds {got} orders, expected {n}")
                return rate
            finally:
                await close_store(store)
        return run

    samples = await alternate({how: side(how) for how in ("sandbox", "bare", "native")})
    return Row(f"(b) PostgreSQL order+items, one statement per order, {CLIENTS} concurrent, {n:,} orders: "
               f"asyncpg vs pgbench -c {CLIENTS} -M prepared (same orders)", server, "tx/s",
               samples["sandbox"], samples["bare"], samples["native"], harness_target=0.9, library_target=None,
               note="bare/native is asyncpg's and Python's cost (no goal: the issue measured bare asyncpg "
                    "below pgbench on this machine); pgbench also looks up each staged order by key")


async def _pgbench(settings: Any, store: Any, orders: list[Any]) -> float:
    """Stage the orders' statement parameters (not timed), then pgbench writes them: its tps."""
    schema = store.namespace
    ddl, statement, _ = await natives.staging(store)
    async with store.pool.acquire() as conn:
        await conn.execute(ddl)
        await conn.copy_records_to_table("bench_input", schema_name=schema,
                                         records=[(i, *store.rows.insert_args(o)) for i, o in enumerate(orders)])
    url = urlsplit(settings.postgres_url)
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "insert_order.sql"
        script.write_text(natives.pgbench_script(statement, CLIENTS))
        _, out = run_tool([tool("pgbench"), "-n", "-c", str(CLIENTS), "-j", "2", "-t", str(len(orders) // CLIENTS),
                           "-M", "prepared", "-D", "n=0", "-f", str(script), "-h", url.hostname or "127.0.0.1",
                           "-p", str(url.port), "-U", url.username or "sandbox", (url.path or "/sandbox").lstrip("/")],
                          env={"PGPASSWORD": url.password or ""})
    return float(next(ln for ln in out.splitlines() if ln.startswith("tps =")).split()[2])
