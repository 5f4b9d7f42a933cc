"""The transactional outbox of a PostgreSQL model store (stores/events.py Outbox): an `outbox` table in the run's
schema, Debezium's shape (id, aggregatetype, aggregateid, type, payload) plus the per-key sequence and times.

Written through the store's TransactionalSource capability (stores/contract.py), as the write strategies' outbox
is: the root instance goes in with the store's own `write_in`, inside the transaction that inserts its events,
so an event exists exactly when its change does, on either design (normalized, jsonb). A state change is the
instance written again at a higher version (`write_in(tx, instance, version)`: applied only over an older one),
so of two changes at the same version exactly one applies, once, and only it writes its events.
A relay claims unpublished rows with FOR UPDATE SKIP LOCKED and marks them published in the transaction that
held the locks, after the broker confirmed them: a crash in between publishes them again (at least once).
The change-data-capture path (cdc.py) reads the same table's inserts from the write-ahead log instead.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import asyncpg

from sandbox.errors import UsageError
from sandbox.stores.contract import ModelStore, TransactionalSource
from sandbox.stores.events import Event, SourceEvent
from sandbox.stores.postgres.model_store import NormalizedStore, PostgresModelBase
from sandbox.workload.dataset import Instance
from sandbox.workload.schema import Model

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
    def __init__(self, store: PostgresModelBase):
        source: object = store
        if not isinstance(source, TransactionalSource):  # both PostgreSQL designs are
            raise UsageError(f"{store.name}: the outbox needs a design that commits an instance inside a transaction "
                             "of the caller's (stores/contract.py TransactionalSource)")
        self.store: ModelStore = store  # type: ignore[assignment]  # a design is a ModelStore
        self.source: TransactionalSource = source
        self.model: Model = store.model
        self.schema: str = store.schema
        self.aggregate: str = self.model.root_entity.name
        self._add = (f"INSERT INTO {self.schema}.outbox (id, aggregatetype, aggregateid, type, seq, payload) "
                     "SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int[], $6::jsonb[])")

    async def create(self) -> None:
        async with self.source.transaction() as tx:
            await tx.execute(DDL.format(s=self.schema))

    def _rows(self, events: Sequence[Event]) -> list[list[Any]]:
        return [[e.id for e in events], [self.aggregate] * len(events), [e.key for e in events],
                [e.type for e in events], [e.seq for e in events], [json.dumps(e.data) for e in events]]

    async def write_with_events(self, instance: Instance, events: Sequence[Event], version: int | None = None) -> bool:
        async with self.source.transaction() as tx:
            if not await self.source.write_in(tx, instance, version):
                return False  # not applied (a repeat, or another change at this version won): no events either
            await tx.execute(self._add, *self._rows(events))
        return True

    @asynccontextmanager
    async def claim(self, limit: int) -> AsyncIterator[list[SourceEvent]]:
        async with self.source.transaction() as conn:
            rows = await conn.fetch(f"SELECT position, {COLUMNS} FROM {self.schema}.outbox WHERE published_at IS NULL "
                                    "ORDER BY position LIMIT $1 FOR UPDATE SKIP LOCKED", limit)
            yield [source_event(r[1:]) for r in rows]
            if rows:
                await conn.execute(f"UPDATE {self.schema}.outbox SET published_at = clock_timestamp() "
                                   "WHERE position = any($1::bigint[])", [r[0] for r in rows])

    async def events(self) -> list[SourceEvent]:
        async with self.source.transaction() as tx:
            rows = await tx.fetch(f"SELECT {COLUMNS} FROM {self.schema}.outbox ORDER BY position")
        return [source_event(r) for r in rows]

    async def unpublished(self) -> int:
        async with self.source.transaction() as tx:
            return int(await tx.fetchval(f"SELECT count(*) FROM {self.schema}.outbox WHERE published_at IS NULL"))

    async def state_of(self, entity: str, field_name: str) -> dict[str, str]:
        """key -> the field's value, from the model store's own scan (any design)."""
        key = self.model.entity(entity).key
        return {str(r[key]): str(r[field_name]) async for r in self.store.scan(entity)}


class PostgresEventSource:
    """The `event_source` role: the outbox and the change data capture of a PostgreSQL ModelStore."""

    def outbox(self, store: Any) -> PostgresOutbox:
        if not isinstance(store, PostgresModelBase):
            raise UsageError(f"the order service's outbox lives in a PostgreSQL model store, not {store.name}")
        return PostgresOutbox(store)

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

    def capture(self, store: Any, url: str) -> Any:
        """`url`: the capture's own login (a slot needs REPLICATION, which the run's lacks)."""
        from sandbox.stores.postgres.cdc import PostgresChangeCapture

        if not isinstance(store, PostgresModelBase):
            raise UsageError(f"change data capture reads a PostgreSQL model store's WAL, not {store.name}'s")
        return PostgresChangeCapture(store, url)


def _normalized(store: Any) -> NormalizedStore:
    if not isinstance(store, NormalizedStore):
        raise UsageError("the shared-database inventory reads the order's lines from the normalized design's tables, "
                         f"not {getattr(store, 'design', store)!r}'s")
    return store
