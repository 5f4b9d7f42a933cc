"""The shared-database anti-pattern (stores/events.py Inventory): the inventory service keeps its stock in the order
service's own PostgreSQL schema, in the catalog's `inventory_count`, and reads an order's lines from the order
service's `order_items` table instead of from the event. One database, coupled schemas: a migration one service
runs holds locks the other waits on.

`migrate` is the order service's schema change: ADD COLUMN with a volatile default (a table rewrite under ACCESS
EXCLUSIVE), held open for `hold_s` as a long rewrite would be, then rolled back; `blocked` counts the sessions of
this database waiting on a lock meanwhile.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import asyncpg

from sandbox.stores.postgres.model_store import NormalizedStore

RESERVATIONS = "CREATE TABLE {s}.reservations (order_id TEXT PRIMARY KEY, state TEXT NOT NULL)"


class PostgresSharedInventory:
    def __init__(self, store: NormalizedStore):
        self.store = store
        t = store.tables
        self.s = store.schema
        products, items = t.table("product"), t.table("order_item")
        self.products, self.items = products.name, items.name
        self.pid, self.count = products.column("id").q, products.column("inventory_count").q
        self.item_order, self.item_product = items.column("order_id").q, items.column("product_id").q
        self.item_qty = items.column("quantity").q
        self._watch: asyncpg.Connection | None = None

    async def load(self, stock: Mapping[str, int]) -> None:
        async with self.store.pool.acquire() as conn, conn.transaction():
            await conn.execute(RESERVATIONS.format(s=self.s))
            await conn.executemany(f"UPDATE {self.products} SET {self.count} = $2 WHERE {self.pid} = $1",
                                   list(stock.items()))

    async def reserve(self, order_id: str, lines: Sequence[tuple[str, int]]) -> str:
        async with self.store.pool.acquire() as conn, conn.transaction():
            state = await conn.fetchval(f"SELECT state FROM {self.s}.reservations WHERE order_id = $1 FOR UPDATE",
                                        order_id)
            if state is not None:
                return str(state)
            # The coupling: the order's lines come from the order service's table, not from the event.
            rows = await conn.fetch(
                f"SELECT p.{self.pid}::text, i.{self.item_qty}, p.{self.count} FROM {self.items} i "
                f"JOIN {self.products} p ON p.{self.pid} = i.{self.item_product} WHERE i.{self.item_order} = $1 "
                f"ORDER BY p.{self.pid} FOR UPDATE OF p", order_id)
            outcome = "reserved" if rows and all(r[2] >= r[1] for r in rows) else "rejected"
            if outcome == "reserved":
                await conn.executemany(f"UPDATE {self.products} SET {self.count} = {self.count} - $2 "
                                       f"WHERE {self.pid} = $1", [(r[0], r[1]) for r in rows])
            await conn.execute(f"INSERT INTO {self.s}.reservations VALUES ($1, $2)", order_id, outcome)
            return outcome

    async def release(self, order_id: str) -> bool:
        async with self.store.pool.acquire() as conn, conn.transaction():
            state = await conn.fetchval(f"SELECT state FROM {self.s}.reservations WHERE order_id = $1 FOR UPDATE",
                                        order_id)
            if state != "reserved":
                return False
            await conn.execute(
                f"UPDATE {self.products} p SET {self.count} = p.{self.count} + i.{self.item_qty} FROM {self.items} i "
                f"WHERE i.{self.item_order} = $1 AND p.{self.pid} = i.{self.item_product}", order_id)
            await conn.execute(f"UPDATE {self.s}.reservations SET state = 'released' WHERE order_id = $1", order_id)
            return True

    async def reservations(self) -> dict[str, str]:
        return {r[0]: r[1] for r in await self.store.pool.fetch(f"SELECT order_id, state FROM {self.s}.reservations")}

    async def stock(self) -> dict[str, int]:
        rows = await self.store.pool.fetch(f"SELECT {self.pid}::text, {self.count} FROM {self.products}")
        return {r[0]: int(r[1]) for r in rows}

    async def migrate(self, hold_s: float) -> str:
        """The order service's schema change on its order_items, its ACCESS EXCLUSIVE lock held for hold_s."""
        async with self.store.pool.acquire() as conn:
            tr = conn.transaction()
            await tr.start()
            try:
                await conn.execute(f"ALTER TABLE {self.items} ADD COLUMN sbx_note TEXT DEFAULT md5(random()::text)")
                await conn.execute("SELECT pg_sleep($1)", hold_s)
            finally:
                await tr.rollback()
        return (f"ALTER TABLE order_items ADD COLUMN ... DEFAULT md5(random()::text) (a rewrite under ACCESS "
                f"EXCLUSIVE), held {hold_s:g} s, rolled back")

    async def blocked(self) -> int:
        # A connection of its own: the pool's may all be waiting on the very lock it counts.
        if self._watch is None:
            self._watch = await asyncpg.connect(self.store.endpoint.url)
        return int(await self._watch.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"))

    async def teardown(self) -> None:
        pass  # its tables live in the order service's schema, dropped with it

    async def close(self) -> None:
        if self._watch is not None:  # the pool is the order service's
            await self._watch.close()
