"""PostgreSQL's indexes for the index-cost step (contract.IndexCost): the design's pattern indexes dropped and
rebuilt by name, and each index's scans from pg_stat_user_indexes.idx_scan.

The cumulative statistics are per backend until it flushes them (PostgreSQL 15: at idle, at most once a
second), so the pool's every connection is asked to flush (pg_stat_force_next_flush) before the figures are
read; they start at 0 for an index built in this run and reset at a server restart or pg_stat_reset()."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

import asyncpg

from sandbox.stores.contract import IndexUse

SOURCE = "pg_stat_user_indexes.idx_scan (reset at a server restart or pg_stat_reset(); 0 for an index built now)"

USAGE = """
SELECT s.indexrelname AS name, s.idx_scan AS scans, (i.indisprimary OR i.indisunique) AS enforces
FROM pg_stat_user_indexes s JOIN pg_index i ON i.indexrelid = s.indexrelid
WHERE s.schemaname = $1 ORDER BY s.indexrelname"""


def droppable(indexes: Sequence[Any]) -> dict[str, Any]:
    """The design's indexes that serve access patterns and enforce nothing: name (unquoted) -> Index."""
    return {i.name.strip('"'): i for i in indexes if i.patterns and not i.unique}


async def usage(pool: asyncpg.Pool, schema: str, connections: int) -> list[IndexUse]:
    held = [await pool.acquire() for _ in range(connections)]  # every connection of the pool: each has counts
    try:
        for conn in held:
            await conn.execute("SELECT pg_stat_force_next_flush()")
    finally:
        for conn in held:
            await pool.release(conn)
    await asyncio.sleep(0.1)  # each backend flushes as it goes idle after the query above
    rows = await pool.fetch(USAGE, schema)
    return [IndexUse(r["name"], int(r["scans"]), bool(r["enforces"])) for r in rows]


def served(indexes: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    return {name: tuple(i.patterns) for name, i in indexes.items()}
