"""PostgreSQL playing the origin behind the cache-aside experiment's cache: the origin reads and writes root
instances through the run's model store (experiments/cache_aside/origin.py); what PostgreSQL adds is its own
count of the transactions it ran, the cross-check of the client's count of origin queries."""

from __future__ import annotations

import asyncio
from typing import Any

STATS_SETTLE_S = 1.1  # a backend publishes its transaction counts at most once a second


class PostgresOriginRole:
    async def transactions(self, store: Any) -> int:
        """This database's committed + rolled-back transactions as PostgreSQL counts them (pg_stat_database), on
        the model store's own pool (it sends no reset query on release: one query is one transaction).

        A backend publishes its counts when a transaction ends at least a second after its last report (or
        after 10 s idle), so: wait a second, end a transaction on every connection the pool may hold (which
        also opens them all, so a stampede that follows is not also a connection storm), then read. Those
        bookkeeping queries add the pool's size + 1 to the count, noise next to a run's thousands."""
        pool = store.pool
        await asyncio.sleep(STATS_SETTLE_S)
        held = [await pool.acquire() for _ in range(pool.get_max_size())]
        try:
            for conn in held:
                await conn.execute("SELECT 1")
            return int(await held[0].fetchval(
                "SELECT pg_stat_clear_snapshot(), xact_commit + xact_rollback FROM pg_stat_database "
                "WHERE datname = current_database()", column=1))
        finally:
            for conn in held:
                await pool.release(conn)
