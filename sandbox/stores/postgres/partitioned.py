"""PostgreSQL declarative hash partitioning of a model's root table: the `hash_partitioning` role.

The design is the PostgreSQL model store's (`postgres:partitioned`, or the design options `partitions = N`,
`partition_by = field` on the normalized design: mapping.py): `PARTITION BY HASH (field)` with N partitions
`FOR VALUES WITH (MODULUS N, REMAINDER i)`, so the server hashes the key and sends each row to one partition.
A query that names the partition key is pruned to one partition; one that does not (by the root's key, by a
pattern's filter field) must visit them all. This part reads what the server says of that, on the model store's
own pool: rows per partition, keys spread over several partitions (must be none), EXPLAIN ANALYZE.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sandbox.stores.postgres.mapping import Table
from sandbox.stores.postgres.naming import ident


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


class HashPartitioned:
    """The hash_partitioning role: the design options a model store takes, and what the server reports."""

    @staticmethod
    def options(partitions: int, partition_by: str = "") -> dict[str, Any]:
        return {"design": "normalized", "partitions": partitions, "partition_by": partition_by}

    def __init__(self, store: Any):
        self.store = store  # a connected, prepared NormalizedStore with a partitioned root
        self.root: Table = store.tables.table(store.model.root)
        assert self.root.partition_by is not None, "the store's design is not partitioned"

    @property
    def partition_by(self) -> str:
        assert self.root.partition_by is not None
        return self.root.partition_by

    async def analyze(self) -> None:
        await self.store.pool.execute(f"ANALYZE {self.root.name}")

    async def rows_per_partition(self) -> dict[str, int]:
        rows = await self.store.pool.fetch(f"SELECT tableoid::regclass::text AS p, count(*) AS n FROM {self.root.name} "
                                           "GROUP BY 1 ORDER BY 1")
        return {r["p"].rpartition(".")[2]: r["n"] for r in rows}

    async def spread(self) -> int:
        """Partition-key values whose rows are not all in one partition: must be 0, the partition key's promise."""
        key = ident(self.partition_by)
        return int(await self.store.pool.fetchval(
            f"SELECT count(*) FROM (SELECT {key} FROM {self.root.name} GROUP BY {key} "
            "HAVING count(DISTINCT tableoid) > 1) AS spread"))

    def _sql(self, column: str) -> str:
        c = self.root.column(column)
        return f"SELECT * FROM {self.root.name} WHERE {c.q} = {c.param(1)}"

    async def explain(self, column: str, value: Any) -> Plan:
        raw = await self.store.pool.fetchval(f"EXPLAIN (ANALYZE, FORMAT JSON) {self._sql(column)}", value)
        plan = (json.loads(raw) if isinstance(raw, str) else raw)[0]
        return Plan(len(_scanned(plan["Plan"])), int(plan["Plan"]["Actual Rows"]), float(plan["Execution Time"]))

    async def query(self, column: str, value: Any) -> int:
        return len(await self.store.pool.fetch(self._sql(column), value))
