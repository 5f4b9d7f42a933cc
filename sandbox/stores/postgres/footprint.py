"""PostgreSQL's footprint of a run's schema, from the server's own size functions: per table pg_table_size
(heap + TOAST + free-space and visibility maps), the heap and the TOAST relation apart in `detail`, each index's
pg_relation_size by name, and the WAL position (pg_current_wal_lsn as bytes from 0/0: server-wide, so the
experiment takes the difference between two readings). Sizes are the files' lengths, extended as rows arrive
(no checkpoint needed); a VACUUM may shrink them later."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from sandbox.stores.contract import FootprintReading

SOURCE = "pg_table_size / pg_relation_size per table and index of the schema, WAL LSN (pg_current_wal_lsn)"

TABLES = """
SELECT c.relname, pg_table_size(c.oid) AS total, pg_relation_size(c.oid) AS heap,
       COALESCE(pg_table_size(NULLIF(c.reltoastrelid, 0)), 0) AS toast
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relkind IN ('r', 'm')"""  # partitions are 'r' too; a partitioned parent ('p') has none

INDEXES = """
SELECT c.relname, pg_relation_size(c.oid) AS size
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relkind = 'i'"""


async def compressed(pool: asyncpg.Pool, columns: Sequence[tuple[str, str, str]]) -> dict[str, int]:
    """(qualified table, name, column) -> how many of the column's values are stored compressed, by method
    (pg_column_compression; a value is compressed only once its row passes the TOAST threshold, about 2 kB)."""
    out: dict[str, int] = {}
    for table, name, column in columns:
        for r in await pool.fetch(f"SELECT coalesce(pg_column_compression({column}), 'none') AS how, count(*) AS n "
                                  f"FROM {table} GROUP BY 1"):
            out[f"{name}.{column}.compressed_{r['how']}"] = int(r["n"])
    return out


async def footprint(pool: asyncpg.Pool, schema: str, columns: Sequence[tuple[str, str, str]] = ()) -> FootprintReading:
    tables = await pool.fetch(TABLES, schema)
    indexes = await pool.fetch(INDEXES, schema)
    wal = await pool.fetchval("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint")
    detail: dict[str, int] = {}
    for r in tables:
        detail[f"{r['relname']}.heap"] = int(r["heap"])
        if r["toast"]:
            detail[f"{r['relname']}.toast"] = int(r["toast"])
    detail.update(await compressed(pool, columns))
    return FootprintReading(SOURCE, sum(int(r["total"]) for r in tables),
                            {r["relname"]: int(r["size"]) for r in indexes}, int(wal), detail=detail)
