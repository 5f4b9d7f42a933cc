"""PostgreSQL declarative hash partitioning: the orders table split by customer_id into N partitions.

`PARTITION BY HASH (customer_id)` with N partitions `FOR VALUES WITH (MODULUS N, REMAINDER i)`: the
server hashes the key and sends each row to one partition. A query that names the shard key is pruned
to one partition; one that does not (by order id, by status) must visit them all. The table lives in its own
schema (the run's namespace), created here and dropped here only.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import asyncpg

from sandbox.errors import UsageError
from sandbox.workload.model import Order

COLUMNS = ("id", "order_number", "customer_id", "status", "total_amount", "item_count", "created_at")


@dataclass(frozen=True)
class Plan:
    """What EXPLAIN ANALYZE says about one query."""

    partitions: int  # partitions the executor scanned
    rows: int
    execution_ms: float


def _scanned(node: dict[str, Any]) -> set[str]:
    """Relations scanned anywhere under a plan node."""
    found = {node["Relation Name"]} if "Relation Name" in node else set()
    for child in node.get("Plans", []):
        found |= _scanned(child)
    return found


class HashPartitionedOrders:
    def __init__(self, url: str, schema: str, partitions: int):
        self.url = url
        self.schema = schema
        self.partitions = partitions
        self._created = False

    async def connect(self) -> str:
        self.conn = await asyncpg.connect(self.url)
        return str(await self.conn.fetchval("SHOW server_version"))

    async def create(self) -> None:
        if await self.conn.fetchval("SELECT 1 FROM pg_namespace WHERE nspname = $1", self.schema):
            raise UsageError(f"PostgreSQL schema {self.schema} already exists; choose another run id")
        s = self.schema
        ddl = [f"CREATE SCHEMA {s}",
               f"""CREATE TABLE {s}.orders (id UUID NOT NULL, order_number TEXT NOT NULL, customer_id UUID NOT NULL,
                   status TEXT NOT NULL, total_amount NUMERIC(10,2) NOT NULL, item_count INT NOT NULL,
                   created_at TIMESTAMPTZ NOT NULL, PRIMARY KEY (customer_id, id))
                   PARTITION BY HASH (customer_id)""",
               *(f"CREATE TABLE {s}.orders_p{i} PARTITION OF {s}.orders "
                 f"FOR VALUES WITH (MODULUS {self.partitions}, REMAINDER {i})" for i in range(self.partitions)),
               f"CREATE INDEX ON {s}.orders (status)", f"CREATE INDEX ON {s}.orders (id)"]
        async with self.conn.transaction():
            for statement in ddl:
                await self.conn.execute(statement)
        self._created = True

    async def load(self, orders: Iterable[Order]) -> None:
        rows = [(o.id, o.order_number, o.customer_id, o.status.value, o.total_amount, len(o.items), o.created_at)
                for o in orders]
        await self.conn.copy_records_to_table("orders", schema_name=self.schema, records=rows, columns=COLUMNS)
        await self.conn.execute(f"ANALYZE {self.schema}.orders")

    async def rows_per_partition(self) -> dict[str, int]:
        rows = await self.conn.fetch(f"SELECT tableoid::regclass::text AS p, count(*) AS n FROM {self.schema}.orders "
                                     "GROUP BY 1 ORDER BY 1")
        return {r["p"].rpartition(".")[2]: r["n"] for r in rows}

    async def customers_in_several_partitions(self) -> int:
        """Customers whose orders are not all in one partition: must be 0, the shard key's promise."""
        return int(await self.conn.fetchval(
            f"SELECT count(*) FROM (SELECT customer_id FROM {self.schema}.orders GROUP BY customer_id "
            "HAVING count(DISTINCT tableoid) > 1) AS spread"))

    async def explain(self, column: str, value: str) -> Plan:
        sql = f"SELECT * FROM {self.schema}.orders WHERE {column} = $1"
        raw = await self.conn.fetchval(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}", value)
        plan = (json.loads(raw) if isinstance(raw, str) else raw)[0]
        return Plan(len(_scanned(plan["Plan"])), int(plan["Plan"]["Actual Rows"]), float(plan["Execution Time"]))

    async def query(self, column: str, value: str) -> int:
        return len(await self.conn.fetch(f"SELECT * FROM {self.schema}.orders WHERE {column} = $1", value))

    async def drop(self) -> None:
        if self._created:
            await self.conn.execute(f"DROP SCHEMA {self.schema} CASCADE")
            self._created = False

    async def close(self) -> None:
        if hasattr(self, "conn"):
            await self.conn.close()
