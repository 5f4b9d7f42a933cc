"""PostgreSQL playing the origin behind the cache-aside experiment's cache: an order's version and status in
the run's schema. A load costs `recompute_ms` of server time (pg_sleep inside the query), standing for the
expensive query a cache exists to avoid; with 0 it is a primary-key lookup."""

from __future__ import annotations

import asyncio

import asyncpg

STATS_SETTLE_S = 1.1  # a backend publishes its transaction counts at most once a second


class PostgresOrigin:
    def __init__(self, pool: asyncpg.Pool, schema: str, recompute_ms: float):
        self.pool = pool
        self.recompute_s = recompute_ms / 1000
        s = f'"{schema}"'
        sleep = ", pg_sleep($2)" if recompute_ms > 0 else ""
        self._load = f"SELECT o.version, o.status::text, o.total_amount::text FROM {s}.orders o{sleep} WHERE o.id = $1"
        self._update = (f"UPDATE {s}.orders SET status = $2::{s}.order_status, version = version + 1 "
                        "WHERE id = $1 RETURNING version")

    async def load(self, key: str) -> tuple[int, str, str] | None:
        """(version, status, total) of one order, None when there is none."""
        args = (key, self.recompute_s) if self.recompute_s else (key,)
        row = await self.pool.fetchrow(self._load, *args)
        return None if row is None else (row[0], row[1], row[2])

    async def update(self, key: str, status: str) -> int:
        return int(await self.pool.fetchval(self._update, key, status))

    async def transactions(self) -> int:
        """This database's committed + rolled-back transactions as PostgreSQL counts them (pg_stat_database).

        A backend publishes its counts when a transaction ends at least a second after its last report (or
        after 10 s idle), so: wait a second, end a transaction on every pooled connection, then read. Those
        bookkeeping queries add the pool's size + 1 to the count, noise next to a run's thousands."""
        await asyncio.sleep(STATS_SETTLE_S)
        held = [await self.pool.acquire() for _ in range(self.pool.get_size())]
        try:
            for conn in held:
                await conn.execute("SELECT 1")
            return int(await held[0].fetchval(
                "SELECT pg_stat_clear_snapshot(), xact_commit + xact_rollback FROM pg_stat_database "
                "WHERE datname = current_database()", column=1))
        finally:
            for conn in held:
                await self.pool.release(conn)

    async def close(self) -> None:
        await self.pool.close()


class PostgresOriginRole:
    async def open(self, url: str, schema: str, connections: int, recompute_ms: float) -> PostgresOrigin:
        # One connection per worker, opened up front, so a stampede is not also a connection storm. No reset
        # query on release (the queries leave no session state): PostgreSQL's transaction count then equals
        # the queries the policies sent, a cross-check of the client's count.
        pool = await asyncpg.create_pool(url, min_size=connections + 1, max_size=connections + 1, reset=_keep)
        return PostgresOrigin(pool, schema, recompute_ms)


async def _keep(connection: asyncpg.Connection) -> None:
    """Return a connection to the pool as it is."""
