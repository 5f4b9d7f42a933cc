"""PostgreSQL's namespace marker: a `_sandbox_marker` table (one jsonb row) in the run's schema."""

from __future__ import annotations

import json
from typing import Any

from sandbox.stores.markers import MARKER, PREFIX, Found, Marker


class PostgresMarkers:
    async def mark(self, store: Any, marker: Marker) -> None:
        ns = _quoted(marker.namespace)
        async with store.pool.acquire() as conn, conn.transaction():
            await conn.execute(f"CREATE TABLE {ns}.{MARKER} (fields jsonb NOT NULL)")
            await conn.execute(f"INSERT INTO {ns}.{MARKER} VALUES ($1::jsonb)", json.dumps(marker.fields()))

    async def find(self, store: Any) -> Found:
        rows = await store.pool.fetch(
            "SELECT n.nspname, EXISTS (SELECT 1 FROM pg_class c WHERE c.relnamespace = n.oid AND c.relname = $1) "
            "FROM pg_namespace n WHERE starts_with(n.nspname, $2) ORDER BY 1", MARKER, PREFIX)
        found = Found([], [])
        for name, marked in rows:
            fields = await store.pool.fetchval(f"SELECT fields FROM {_quoted(name)}.{MARKER} LIMIT 1") \
                if marked else None
            if fields:
                found.marked.append(Marker.from_fields(json.loads(fields)))
            else:
                found.unmarked.append(name)
        return found

    async def drop(self, store: Any, marker: Marker) -> None:
        await store.pool.execute(f"DROP SCHEMA {_quoted(marker.namespace)} CASCADE")


def _quoted(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'
