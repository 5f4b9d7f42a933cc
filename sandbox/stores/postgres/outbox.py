"""The transactional outbox of a PostgreSQL ModelStore (stores/events.py Outbox): an `outbox` table in the run's
schema, Debezium's shape (id, aggregatetype, aggregateid, type, payload) plus the per-key sequence and times.

A write or a transition and its events commit in one transaction, so an event exists exactly when its change
does. A relay claims unpublished rows with FOR UPDATE SKIP LOCKED and marks them published in the transaction
that held the locks, after the broker confirmed them: a crash in between publishes them again (at least once).
The change-data-capture path (cdc.py) reads the same table's inserts from the write-ahead log instead.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import asyncpg

from sandbox.errors import UsageError
from sandbox.stores.events import Event, SourceEvent
from sandbox.stores.postgres.model_store import NormalizedStore
from sandbox.stores.postgres.patterns import transition_statement
from sandbox.workload.dataset import Instance
from sandbox.workload.params import Params
from sandbox.workload.schema import Pattern

DDL = """
CREATE TABLE {s}.outbox (
    position BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    aggregatetype TEXT NOT NULL,
    aggregateid TEXT NOT NULL,
    type TEXT NOT NULL,
    seq INTEGER NOT NULL,
    payload JSONB NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
    published_at TIMESTAMPTZ);
CREATE INDEX outbox_unpublished ON {s}.outbox (position) WHERE published_at IS NULL
"""
COLUMNS = "id, type, aggregateid, seq, payload::text, extract(epoch FROM created_at)::float8"


def source_event(row: Sequence[Any]) -> SourceEvent:
    event_id, kind, key, seq, payload, created = row
    return SourceEvent(Event(event_id, kind, key, int(seq), json.loads(payload)), float(created))


class PostgresOutbox:
    def __init__(self, store: NormalizedStore):
        self.store = store
        self.schema = store.schema
        self.aggregate = store.model.root_entity.name
        self._insert = store.rows.insert_sql()
        self._add = (f"INSERT INTO {self.schema}.outbox (id, aggregatetype, aggregateid, type, seq, payload) "
                     "SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int[], $6::jsonb[])")
        self._transitions: dict[str, tuple[str, Any]] = {}

    async def create(self) -> None:
        await self.store.pool.execute(DDL.format(s=self.schema))

    def _rows(self, events: Sequence[Event]) -> list[list[Any]]:
        return [[e.id for e in events], [self.aggregate] * len(events), [e.key for e in events],
                [e.type for e in events], [e.seq for e in events], [json.dumps(e.data) for e in events]]

    async def write_with_events(self, instance: Instance, events: Sequence[Event]) -> None:
        async with self.store.pool.acquire() as conn, conn.transaction():
            await conn.execute(self._insert, *self.store.rows.insert_args(instance))
            await conn.execute(self._add, *self._rows(events))

    async def transition_with_events(self, pattern: Pattern, params: Params, events: Sequence[Event]) -> bool:
        if pattern.name not in self._transitions:
            self._transitions[pattern.name] = transition_statement(self.store.layout, pattern,
                                                                   self.store.model.entity(pattern.entity))
        sql, args = self._transitions[pattern.name]
        values = args(params)
        if values is None:
            return False
        async with self.store.pool.acquire() as conn, conn.transaction():
            if await conn.fetchval(sql, *values) is None:
                return False  # not applied (a repeat, or another transition won): no events either
            await conn.execute(self._add, *self._rows(events))
        return True

    @asynccontextmanager
    async def claim(self, limit: int) -> AsyncIterator[list[SourceEvent]]:
        async with self.store.pool.acquire() as conn, conn.transaction():
            rows = await conn.fetch(f"SELECT position, {COLUMNS} FROM {self.schema}.outbox WHERE published_at IS NULL "
                                    "ORDER BY position LIMIT $1 FOR UPDATE SKIP LOCKED", limit)
            yield [source_event(r[1:]) for r in rows]
            if rows:
                await conn.execute(f"UPDATE {self.schema}.outbox SET published_at = clock_timestamp() "
                                   "WHERE position = any($1::bigint[])", [r[0] for r in rows])

    async def events(self) -> list[SourceEvent]:
        rows = await self.store.pool.fetch(f"SELECT {COLUMNS} FROM {self.schema}.outbox ORDER BY position")
        return [source_event(r) for r in rows]

    async def unpublished(self) -> int:
        return int(await self.store.pool.fetchval(
            f"SELECT count(*) FROM {self.schema}.outbox WHERE published_at IS NULL"))

    async def state_of(self, entity: str, field_name: str) -> dict[str, str]:
        lay = self.store.layout
        rows = await self.store.pool.fetch(f"SELECT {lay.key_of(entity).q}::text, {lay.expr(entity, field_name)}::text "
                                           f"FROM {lay.table_name(entity)}")
        return {r[0]: r[1] for r in rows}


class PostgresEventSource:
    """The `event_source` role: the outbox and the change data capture of a PostgreSQL ModelStore."""

    def outbox(self, store: Any) -> PostgresOutbox:
        return PostgresOutbox(_normalized(store))

    async def status(self, url: str) -> str:
        """For `sandbox status`: whether the server can do change data capture, and the slots that hold WAL."""
        conn = await asyncpg.connect(url, timeout=8)
        try:
            level = await conn.fetchval("SHOW wal_level")
            slots = await conn.fetch("SELECT slot_name, active, pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn) "
                                     "FROM pg_replication_slots WHERE slot_type = 'logical'")
        finally:
            await conn.close()
        held = ", ".join(f"{s[0]} ({'active' if s[1] else 'idle'}, {int(s[2] or 0):,} bytes retained)" for s in slots)
        can = "change data capture possible" if level == "logical" else "no change data capture (needs logical)"
        return f"wal_level={level}: {can}; logical slots: {held or 'none'}"

    def shared_inventory(self, store: Any) -> Any:
        """The inventory service on this same database (the shared-database anti-pattern)."""
        from sandbox.stores.postgres.shared_inventory import PostgresSharedInventory

        return PostgresSharedInventory(_normalized(store))

    def capture(self, store: Any) -> Any:
        from sandbox.stores.postgres.cdc import PostgresChangeCapture

        return PostgresChangeCapture(_normalized(store))


def _normalized(store: Any) -> NormalizedStore:
    if not isinstance(store, NormalizedStore):
        raise UsageError(f"the outbox runs on PostgreSQL's normalized design, not {getattr(store, 'design', store)!r}")
    return store
