"""PostgreSQL migrations: SQL files as Python modules (UP, DOWN; TRANSACTION = False for statements that
cannot run in a transaction, such as CREATE INDEX CONCURRENTLY), written for the normalized design of the
orders model (tables orders, order_items, ...: `sandbox model show orders --store postgres`). The version is a
row in the run's schema (`schema_migrations`), written in the migration's own transaction where it has one."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg

from sandbox.errors import UsageError
from sandbox.stores.migrations import Direction, Migration, MigrationKit, Waits
from sandbox.stores.postgres.model_store import PostgresModelBase

APPLICATION_NAME = "sandbox-migrate"  # how samplers of pg_stat_activity tell the migration's session apart

LEDGER = "CREATE TABLE IF NOT EXISTS {s}.schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, " \
         "applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"

# Rows to give DDL something to chew on: orders of one customer (with both addresses), valid against the
# design's CHECKs (tax = round(subtotal * 0.0825, 2), shipping 7.99 below 100.00, total = their sum), no items.
FILL = """
INSERT INTO {s}.orders (id, customer_id, status, created_at, order_number, customer_segment, billing_address_id,
                        shipping_address_id, subtotal, tax_amount, shipping_amount, total_amount, item_count)
SELECT gen_random_uuid(), c.customer_id, 'delivered', now() - g * interval '1 second', 'FILL-' || g, c.segment,
       c.billing, c.shipping, 10.00, round(10.00 * 0.0825, 2), 7.99, 10.00 + round(10.00 * 0.0825, 2) + 7.99, 0
FROM generate_series(1, $1) g,
     (SELECT b.customer_id, cu.segment, b.id AS billing, s.id AS shipping FROM {s}.addresses b
      JOIN {s}.addresses s ON s.customer_id = b.customer_id AND s.address_type = 'shipping'
      JOIN {s}.customers cu ON cu.id = b.customer_id
      WHERE b.address_type = 'billing' LIMIT 1) c
"""


def statements(sql: str | tuple[str, ...]) -> tuple[str, ...]:
    return (sql,) if isinstance(sql, str) else sql


class PostgresKit(MigrationKit):
    """Reads the catalogs on connections of its own: the model store's pool may be stuck behind a lock."""

    store: PostgresModelBase  # type: ignore[assignment]  # the PostgreSQL model store, not any
    _admin: asyncpg.Pool | None = None

    def check(self) -> None:
        if self.store.design != "normalized" or self.store.model.name != "orders":
            raise UsageError(f"{self.store.name}: the PostgreSQL migrations change the normalized design of the "
                             f"orders model (this store holds {self.store.model.name}, design {self.store.design})")

    async def _pool(self) -> asyncpg.Pool:
        if self._admin is None:
            self._admin = await asyncpg.create_pool(self.store.endpoint.url, min_size=1, max_size=3)
        return self._admin

    async def close(self) -> None:
        if self._admin is not None:
            await self._admin.close()
            self._admin = None

    @property
    def _s(self) -> str:
        return f'"{self.store.namespace}"'

    async def exists(self) -> bool:
        return bool(await (await self._pool()).fetchval(
            "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)", self.store.namespace))

    async def current(self) -> int:
        if not await (await self._pool()).fetchval("SELECT to_regclass($1) IS NOT NULL",
                                              f"{self._s}.schema_migrations"):
            return 0
        pool = await self._pool()
        return int(await pool.fetchval(f"SELECT coalesce(max(version), 0) FROM {self._s}.schema_migrations"))

    async def apply(self, migration: Migration, direction: Direction, lock_timeout_ms: int | None = None) -> None:
        sql = statements(migration.module.UP if direction == "up" else migration.module.DOWN)
        record = (f"INSERT INTO {self._s}.schema_migrations (version, name) VALUES ({migration.version}, "
                  f"'{migration.name}')" if direction == "up"
                  else f"DELETE FROM {self._s}.schema_migrations WHERE version = {migration.version}")
        settings = {"application_name": APPLICATION_NAME}
        if lock_timeout_ms:
            settings["lock_timeout"] = f"{lock_timeout_ms}ms"
        conn = await asyncpg.connect(self.store.endpoint.url, server_settings=settings)
        try:
            await conn.execute(LEDGER.format(s=self._s))
            if getattr(migration.module, "TRANSACTION", True):
                async with conn.transaction():
                    for statement in sql:
                        await conn.execute(statement.format(s=self._s))
                    await conn.execute(record)
            else:  # each statement commits on its own; the version moves only once all have
                for statement in sql:
                    await conn.execute(statement.format(s=self._s))
                await conn.execute(record)
        finally:
            await conn.close()

    async def schema(self) -> dict[str, Any]:
        ns = self.store.namespace
        pool = await self._pool()
        columns = await pool.fetch(
            "SELECT table_name, column_name, data_type, is_nullable, column_default FROM information_schema.columns "
            "WHERE table_schema = $1 AND table_name <> 'schema_migrations' ORDER BY 1, 2", ns)
        indexes = await pool.fetch("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = $1 "
                                   "AND tablename <> 'schema_migrations' ORDER BY 1", ns)
        constraints = await pool.fetch(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid), convalidated FROM pg_constraint "
            "WHERE connamespace = $1::regnamespace AND conrelid::regclass::text NOT LIKE '%schema_migrations' "
            "ORDER BY 1, 2", ns)
        return {"columns": [list(r) for r in columns], "indexes": [list(r) for r in indexes],
                "constraints": [list(r) for r in constraints]}

    async def storage_id(self, table: str) -> str | None:
        value = await (await self._pool()).fetchval("SELECT relfilenode FROM pg_class WHERE oid = $1::regclass",
                                               f"{self._s}.{table}")
        return None if value is None else str(value)

    async def fill(self, rows: int) -> None:
        async with (await self._pool()).acquire() as conn, conn.transaction():
            # Filler rows reference one existing customer: skip the per-row FK triggers (superuser only).
            await conn.execute("SET LOCAL session_replication_role = replica")
            await conn.execute(FILL.format(s=self._s), rows)

    async def waits(self) -> Waits:
        rows = await (await self._pool()).fetch(
            "SELECT application_name FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock'")
        mine = sum(r[0] == APPLICATION_NAME for r in rows)
        return Waits(len(rows) - mine, mine > 0)

    async def hold_reader(self, table: str, seconds: float, holding: asyncio.Event) -> None:
        async with (await self._pool()).acquire() as conn, conn.transaction():
            await conn.fetchval(f"SELECT count(*) FROM {self._s}.{table}")  # ACCESS SHARE until commit
            holding.set()
            await asyncio.sleep(seconds)

    def lock_timed_out(self, exc: BaseException) -> bool:
        return isinstance(exc, asyncpg.LockNotAvailableError)


KIT = PostgresKit
