"""PostgreSQL (asyncpg): the playbook's normalized schema with its constraints, one schema per run."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from sandbox.errors import UsageError
from sandbox.stores.base import Capability, ServerInfo, StatusTotal, Store, StoreOptions
from sandbox.stores.postgres import stats
from sandbox.stores.server_stats import ServerStats
from sandbox.workload.model import Catalog, Order, OrderRecord, OrderStatus

SCHEMA_DDL = """
CREATE SCHEMA {s};
CREATE TYPE {s}.order_status AS ENUM ({statuses});
CREATE TABLE {s}.customers (
    id UUID PRIMARY KEY, email VARCHAR(255) UNIQUE NOT NULL, first_name VARCHAR(100) NOT NULL,
    last_name VARCHAR(100) NOT NULL, segment VARCHAR(20) NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT valid_email CHECK (email ~* '^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\\.[A-Za-z]{{2,}}$'));
CREATE TABLE {s}.addresses (
    id UUID PRIMARY KEY, customer_id UUID NOT NULL REFERENCES {s}.customers(id) ON DELETE CASCADE,
    address_type VARCHAR(10) NOT NULL CHECK (address_type IN ('billing', 'shipping')),
    street_line1 VARCHAR(255) NOT NULL, city VARCHAR(100) NOT NULL, postal_code VARCHAR(20),
    country_code CHAR(2) NOT NULL);
CREATE TABLE {s}.categories (
    id UUID PRIMARY KEY, parent_id UUID REFERENCES {s}.categories(id), name VARCHAR(255) NOT NULL,
    slug VARCHAR(255) UNIQUE NOT NULL, CONSTRAINT no_self_reference CHECK (id <> parent_id));
CREATE TABLE {s}.products (
    id UUID PRIMARY KEY, sku VARCHAR(100) UNIQUE NOT NULL, name VARCHAR(255) NOT NULL,
    category_id UUID REFERENCES {s}.categories(id), base_price DECIMAL(10,2) NOT NULL CHECK (base_price >= 0),
    inventory_count INTEGER NOT NULL DEFAULT 0 CHECK (inventory_count >= 0));
CREATE TABLE {s}.orders (
    id UUID PRIMARY KEY, order_number VARCHAR(50) UNIQUE NOT NULL,
    customer_id UUID NOT NULL REFERENCES {s}.customers(id),
    billing_address_id UUID NOT NULL REFERENCES {s}.addresses(id),
    shipping_address_id UUID NOT NULL REFERENCES {s}.addresses(id),
    status {s}.order_status NOT NULL DEFAULT 'pending',
    subtotal DECIMAL(10,2) NOT NULL CHECK (subtotal >= 0),
    tax_amount DECIMAL(10,2) NOT NULL DEFAULT 0 CHECK (tax_amount >= 0),
    shipping_amount DECIMAL(10,2) NOT NULL DEFAULT 0 CHECK (shipping_amount >= 0),
    total_amount DECIMAL(10,2) NOT NULL CHECK (total_amount >= 0),
    created_at TIMESTAMPTZ NOT NULL,
    version INTEGER NOT NULL DEFAULT 1,
    CONSTRAINT valid_total CHECK (total_amount = subtotal + tax_amount + shipping_amount));
CREATE INDEX ON {s}.orders (customer_id, created_at);
CREATE INDEX ON {s}.orders (status);
CREATE INDEX ON {s}.orders (created_at);
CREATE TABLE {s}.order_items (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id UUID NOT NULL REFERENCES {s}.orders(id) ON DELETE CASCADE,
    product_id UUID NOT NULL REFERENCES {s}.products(id),
    quantity INTEGER NOT NULL CHECK (quantity > 0),
    unit_price DECIMAL(10,2) NOT NULL CHECK (unit_price >= 0),
    total_price DECIMAL(10,2) NOT NULL CHECK (total_price >= 0),
    product_name VARCHAR(255) NOT NULL, product_sku VARCHAR(100) NOT NULL,
    CONSTRAINT valid_item_total CHECK (total_price = quantity * unit_price));
CREATE INDEX ON {s}.order_items (order_id);
"""

ORDER_COLUMNS = ("id", "order_number", "customer_id", "billing_address_id", "shipping_address_id", "status",
                 "subtotal", "tax_amount", "shipping_amount", "total_amount", "created_at")
ITEM_COLUMNS = ("order_id", "product_id", "quantity", "unit_price", "total_price", "product_name", "product_sku")

# One statement, so one round trip and one implicit transaction: the order and its items commit together.
INSERT_ORDER = """
WITH o AS (
  INSERT INTO {s}.orders (id, order_number, customer_id, billing_address_id, shipping_address_id, status,
                          subtotal, tax_amount, shipping_amount, total_amount, created_at)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id)
INSERT INTO {s}.order_items (order_id, product_id, quantity, unit_price, total_price, product_name, product_sku)
SELECT o.id, i.* FROM o, unnest($12::uuid[], $13::int[], $14::numeric[], $15::numeric[], $16::text[],
                               $17::text[]) AS i
"""

# Idempotent by (id, version): a newer version updates the order's status, an older or equal one
# changes nothing. Items are immutable, so they are inserted only with a new order row.
UPSERT_ORDER = """
WITH o AS (
  INSERT INTO {s}.orders (id, order_number, customer_id, billing_address_id, shipping_address_id, status,
                          subtotal, tax_amount, shipping_amount, total_amount, created_at, version)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $18)
  ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, version = EXCLUDED.version
    WHERE {s}.orders.version < EXCLUDED.version
  RETURNING id, (xmax = 0) AS inserted),
i AS (
  INSERT INTO {s}.order_items (order_id, product_id, quantity, unit_price, total_price, product_name, product_sku)
  SELECT o.id, i.* FROM o, unnest($12::uuid[], $13::int[], $14::numeric[], $15::numeric[], $16::text[],
                                 $17::text[]) AS i
  WHERE o.inserted)
SELECT count(*) FROM o
"""

SELECT_RECORD = """
SELECT o.id::text, o.status::text, o.total_amount, o.customer_id::text, c.segment, o.order_number,
       (SELECT count(*) FROM {s}.order_items i WHERE i.order_id = o.id)::int AS item_count
FROM {s}.orders o JOIN {s}.customers c ON c.id = o.customer_id
"""


# Conditional UPDATEs: the WHERE is re-checked on the newest row version after a concurrent update
# commits (READ COMMITTED), so a stale version or an emptied stock never passes.
UPDATE_STATUS = "UPDATE {s}.orders SET status = $2, version = $3 WHERE id = $1 AND version < $3 RETURNING 1"
TAKE_STOCK = ("UPDATE {s}.products SET inventory_count = inventory_count - $2 "
              "WHERE id = $1 AND inventory_count >= $2 RETURNING 1")
LATEST = "SELECT id::text FROM {s}.orders WHERE customer_id = $1 ORDER BY created_at DESC LIMIT $2"
BETWEEN = "SELECT id::text FROM {s}.orders WHERE created_at >= $1 AND created_at < $2 ORDER BY created_at LIMIT $3"


class _NotEnoughStock(Exception):
    """Rolls back a stock transaction when one product is short."""


def _order_row(o: Order) -> tuple:
    return (o.id, o.order_number, o.customer_id, o.billing_address_id, o.shipping_address_id, o.status.value,
            o.subtotal, o.tax_amount, o.shipping_amount, o.total_amount, o.created_at)


def _item_rows(o: Order) -> list[tuple]:
    return [(o.id, i.product_id, i.quantity, i.unit_price, i.total_price, i.product_name, i.product_sku)
            for i in o.items]


def _item_arrays(o: Order) -> tuple[list, ...]:
    items = o.items
    return ([i.product_id for i in items], [i.quantity for i in items], [i.unit_price for i in items],
            [i.total_price for i in items], [i.product_name for i in items], [i.product_sku for i in items])


def _record(row: asyncpg.Record) -> OrderRecord:
    return OrderRecord(row[0], row[1], row[2], row[6], row[3], row[4], row[5])


@dataclass(frozen=True)
class PostgresOptions(StoreOptions):
    postgres_synchronous_commit: str | None = None  # the writer's session setting; None: the server's


class PostgresStore(Store):
    name = "postgres"
    capabilities = frozenset({Capability.BATCH_WRITE, Capability.UPSERT, Capability.STATUS_UPDATE, Capability.STOCK,
                              Capability.CUSTOMER_LATEST, Capability.TIME_RANGE, Capability.REPLICAS})
    concurrency_control = "conditional UPDATE (version < new; stock >= quantity), one transaction per order"
    Options = PostgresOptions
    options: PostgresOptions

    pool: asyncpg.Pool
    _created = False

    @property
    def _s(self) -> str:
        return f'"{self.namespace}"'

    def copy_rows(self, o: Order) -> dict[str, tuple[tuple[str, ...], list[tuple]]]:
        """An order as write_batch COPYs it: {table: (columns, rows)} (bench feeds these to psql \\copy)."""
        return {"orders": (ORDER_COLUMNS, [_order_row(o)]), "order_items": (ITEM_COLUMNS, _item_rows(o))}

    @staticmethod
    def insert_args(o: Order) -> tuple:
        """The parameters of write()'s one statement (bench stages them for pgbench's copy of it)."""
        return (*_order_row(o), *_item_arrays(o))

    async def connect(self) -> ServerInfo:
        commit = self.options.postgres_synchronous_commit
        self.pool = await asyncpg.create_pool(self.endpoint.url, min_size=1, max_size=self.options.connections,
                                              server_settings={"synchronous_commit": commit} if commit else None)
        version = await self.pool.fetchval("SHOW server_version")
        self._insert = INSERT_ORDER.format(s=self._s)
        self._upsert = UPSERT_ORDER.format(s=self._s)
        self._select = SELECT_RECORD.format(s=self._s)
        self._update_status, self._take_stock, self._latest, self._between = (
            q.format(s=self._s) for q in (UPDATE_STATUS, TAKE_STOCK, LATEST, BETWEEN))
        number, _, build = version.partition(" ")
        return ServerInfo("PostgreSQL", number, build.strip("()"))

    async def server_settings(self) -> dict[str, str]:
        return {name: await self.pool.fetchval(f"SHOW {name}") for name in ("fsync", "synchronous_commit")}

    async def server_stats(self) -> ServerStats:
        return await stats.snapshot(self.pool, self.namespace)

    async def prepare(self, catalog: Catalog) -> None:
        statuses = ", ".join(f"'{s.value}'" for s in OrderStatus)
        async with self.pool.acquire() as conn, conn.transaction():
            try:
                await conn.execute(SCHEMA_DDL.format(s=self._s, statuses=statuses))
            except asyncpg.DuplicateSchemaError:
                raise UsageError(f"PostgreSQL schema {self.namespace} already exists; "
                                 "choose another run id") from None
            self._created = True
            copy = conn.copy_records_to_table
            await copy("customers", schema_name=self.namespace,
                       columns=("id", "email", "first_name", "last_name", "segment"),
                       records=[(c.id, c.email, c.first_name, c.last_name, c.segment.value)
                                for c in catalog.customers])
            await copy("addresses", schema_name=self.namespace,
                       columns=("id", "customer_id", "address_type", "street_line1", "city", "postal_code",
                                "country_code"),
                       records=[(a.id, a.customer_id, a.address_type, a.street_line1, a.city, a.postal_code,
                                 a.country_code)
                                for c in catalog.customers for a in (c.billing_address, c.shipping_address)])
            # Parents before children: the generator emits a category's parent before the category.
            await copy("categories", schema_name=self.namespace, columns=("id", "parent_id", "name", "slug"),
                       records=[(c.id, c.parent_id, c.name, c.slug) for c in catalog.categories])
            await copy("products", schema_name=self.namespace,
                       columns=("id", "sku", "name", "category_id", "base_price", "inventory_count"),
                       records=[(p.id, p.sku, p.name, p.category_id, p.base_price, p.inventory_count)
                                for p in catalog.products])

    async def write(self, order: Order) -> None:
        await self.write_on(self.pool, order)

    async def write_on(self, conn: asyncpg.Pool | asyncpg.Connection, order: Order) -> None:
        """Write one order on a given connection, so a caller can make it part of its own transaction."""
        await conn.execute(self._insert, *self.insert_args(order))

    async def upsert(self, order: Order, version: int) -> bool:
        return bool(await self.pool.fetchval(self._upsert, *_order_row(order), *_item_arrays(order), version))

    async def write_batch(self, orders: Sequence[Order]) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.copy_records_to_table("orders", schema_name=self.namespace, columns=ORDER_COLUMNS,
                                             records=[_order_row(o) for o in orders])
            await conn.copy_records_to_table("order_items", schema_name=self.namespace, columns=ITEM_COLUMNS,
                                             records=[row for o in orders for row in _item_rows(o)])

    async def read(self, order_id: str) -> OrderRecord | None:
        row = await self.pool.fetchrow(self._select + " WHERE o.id = $1", order_id)
        return None if row is None else _record(row)

    async def update_status(self, order_id: str, status: str, version: int) -> bool:
        return await self.pool.fetchval(self._update_status, order_id, status, version) is not None

    async def take_stock(self, items: Sequence[tuple[str, int]]) -> bool:
        # In product order, so two orders sharing products cannot deadlock; all items or none.
        try:
            async with self.pool.acquire() as conn, conn.transaction():
                for product_id, quantity in sorted(items):
                    if await conn.fetchval(self._take_stock, product_id, quantity) is None:
                        raise _NotEnoughStock
        except _NotEnoughStock:
            return False
        return True

    async def latest_orders(self, customer_id: str, n: int) -> list[str]:
        return [r[0] for r in await self.pool.fetch(self._latest, customer_id, n)]

    async def orders_between(self, start: datetime, end: datetime, limit: int) -> list[str]:
        return [r[0] for r in await self.pool.fetch(self._between, start, end, limit)]

    async def order_states(self, order_ids: Sequence[str]) -> dict[str, tuple[str, int]]:
        rows = await self.pool.fetch(f"SELECT id::text, status::text, version FROM {self._s}.orders "
                                     "WHERE id = ANY($1::uuid[])", list(order_ids))
        return {r[0]: (r[1], r[2]) for r in rows}

    async def stock_levels(self, product_ids: Sequence[str]) -> dict[str, int]:
        rows = await self.pool.fetch(f"SELECT id::text, inventory_count FROM {self._s}.products "
                                     "WHERE id = ANY($1::uuid[])", list(product_ids))
        return {r[0]: r[1] for r in rows}

    async def scan(self) -> AsyncIterator[OrderRecord]:
        async with self.pool.acquire() as conn, conn.transaction():
            async for row in conn.cursor(self._select, prefetch=2000):
                yield _record(row)

    async def aggregates(self) -> dict[str, StatusTotal]:
        rows = await self.pool.fetch(
            f"SELECT status::text, count(*), sum(total_amount) FROM {self._s}.orders GROUP BY status")
        return {r[0]: StatusTotal(r[1], r[2]) for r in rows}

    async def teardown(self) -> None:
        if self._created:
            await self.pool.execute(f"DROP SCHEMA {self._s} CASCADE")
            self._created = False

    async def close(self) -> None:
        if hasattr(self, "pool"):
            await self.pool.close()

    def describe(self) -> str:
        return "normalized tables with FKs and CHECKs; order + items in one statement"
