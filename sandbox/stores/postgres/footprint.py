"""PostgreSQL's footprint of a run's schema, from the server's own size functions: per table pg_table_size
(heap + TOAST + free-space and visibility maps), the heap and the TOAST relation apart in `detail`, each index's
pg_relation_size by name, and the WAL position (pg_current_wal_lsn as bytes from 0/0: server-wide, so the
experiment takes the difference between two readings). Sizes are the files' lengths, extended as rows arrive
(no checkpoint needed); a VACUUM may shrink them later."""

from __future__ import annotations

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


async def footprint(pool: asyncpg.Pool, schema: str) -> FootprintReading:
    tables = await pool.fetch(TABLES, schema)
    indexes = await pool.fetch(INDEXES, schema)
    wal = await pool.fetchval("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint")
    detail: dict[str, int] = {}
    for r in tables:
        detail[f"{r['relname']}.heap"] = int(r["heap"])
        if r["toast"]:
            detail[f"{r['relname']}.toast"] = int(r["toast"])
    return FootprintReading(SOURCE, sum(int(r["total"]) for r in tables),
                            {r["relname"]: int(r["size"]) for r in indexes}, int(wal), detail=detail)
