"""Event sourcing with CQRS projections (the orders model: an order's lifecycle events, strategies/events.py).

The write side is an append-only event store in the run's schema of the source of truth (PostgreSQL, through
contract.TransactionalSource): (stream_id, version) is
unique, so two appends at the same expected version cannot both succeed (optimistic concurrency).
The client waits for one append. Read models are built by projections, one per store, each reading
the global event log in commit-safe order and storing its checkpoint in PostgreSQL after every batch.

Commit-safe order: positions come from a sequence, so a transaction holding a lower position can
commit after one holding a higher one, and a reader that trusted positions alone would skip it for
good. Every event records its transaction id (xid8); a projection reads only events of transactions
older than the oldest still running (pg_snapshot_xmin), ordered by (transaction id, position).

A projection upserts the state of each order touched by a batch at the stream version it reached (the order's
version in every read model is its stream's);
a crash after the upserts but before the checkpoint replays that batch, and the version-guarded
upserts turn the replay into no-ops: no duplicates.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Any

from hdrh.histogram import HdrHistogram

from sandbox.measure.timing import TimedStore
from sandbox.stores.contract import TransactionalSource, Upsert
from sandbox.strategies.base import Strategy, StrategyOptions
from sandbox.strategies.catchup import Batch, CatchUp, Change, Workers
from sandbox.strategies.events import Event, fold, lifecycle
from sandbox.strategies.outbox import source_of
from sandbox.workload.dataset import Instance
from sandbox.workload.schema import Model

EVENTS_DDL = """
CREATE TABLE {s}.events (
    position BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    transaction_id xid8 NOT NULL DEFAULT pg_current_xact_id(),
    stream_id VARCHAR(100) NOT NULL,
    version INTEGER NOT NULL CHECK (version > 0),
    type VARCHAR(100) NOT NULL,
    payload JSONB NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
    CONSTRAINT one_event_per_stream_version UNIQUE (stream_id, version));
CREATE INDEX events_commit_order ON {s}.events (transaction_id, position);
CREATE TABLE {s}.projection_checkpoints (
    projection VARCHAR(100) PRIMARY KEY,
    transaction_id xid8 NOT NULL,
    position BIGINT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp());
CREATE FUNCTION {s}.events_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN PERFORM pg_notify('{channel}', ''); RETURN NULL; END $$;
CREATE TRIGGER events_notify AFTER INSERT ON {s}.events FOR EACH STATEMENT EXECUTE FUNCTION {s}.events_notify();
"""

READ_AFTER = """
SELECT transaction_id::text, position, stream_id, version, extract(epoch FROM created_at)::float8
FROM {s}.events
WHERE (transaction_id, position) > ($1::text::xid8, $2) AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())
ORDER BY transaction_id, position LIMIT $3
"""

STREAMS_UP_TO = """
SELECT e.stream_id, e.type, e.payload::text FROM {s}.events e
JOIN unnest($1::text[], $2::int[]) AS c(stream_id, upto) ON e.stream_id = c.stream_id AND e.version <= c.upto
ORDER BY e.stream_id, e.version
"""

APPEND = """
WITH added AS (INSERT INTO {s}.events (stream_id, version, type, payload)
    SELECT $1, e.version, e.type, e.payload::jsonb FROM unnest($2::int[], $3::text[], $4::text[])
    WITH ORDINALITY AS e(version, type, payload, n) ORDER BY e.n
    ON CONFLICT ON CONSTRAINT one_event_per_stream_version DO NOTHING RETURNING 1)
SELECT count(*) FROM added
"""

START = ("0", 0)  # (transaction id, position) before the first event


class ConcurrencyConflict(Exception):
    """The stream was not at the expected version: someone else appended first."""


class EventStore:
    def __init__(self, source: TransactionalSource, namespace: str, model: Model):
        self.source = source
        self.model = model
        self.schema = '"' + namespace.replace('"', '""') + '"'
        self.channel = f"{namespace}_events"
        self._read_after = READ_AFTER.format(s=self.schema)
        self._streams = STREAMS_UP_TO.format(s=self.schema)
        self._append = APPEND.format(s=self.schema)

    async def create(self) -> None:
        async with self.source.transaction() as tx:
            await tx.execute(EVENTS_DDL.format(s=self.schema, channel=self.channel))

    async def append(self, stream_id: str, expected_version: int, events: list[Event]) -> int:
        """Append events after expected_version; the stream's new version, or ConcurrencyConflict."""
        async with self.source.transaction() as tx:
            current = await tx.fetchval(
                f"SELECT coalesce(max(version), 0) FROM {self.schema}.events WHERE stream_id = $1", stream_id)
            if current != expected_version:
                raise ConcurrencyConflict(f"stream {stream_id} is at version {current}, not {expected_version}")
            # The unique (stream_id, version) decides a race the check above cannot see: a concurrent append at
            # the same version waits for the other's commit and then inserts nothing (raising rolls back the rest).
            added = await tx.fetchval(self._append, stream_id,
                                      list(range(expected_version + 1, expected_version + 1 + len(events))),
                                      [e.type for e in events], [e.payload() for e in events])
            if added != len(events):
                raise ConcurrencyConflict(f"stream {stream_id}: version {expected_version + 1} "
                                          "was appended concurrently")
        return expected_version + len(events)

    async def checkpoint(self, projection: str) -> tuple[str, int]:
        async with self.source.transaction() as tx:
            row = await tx.fetchrow(f"SELECT transaction_id::text, position FROM {self.schema}."
                                    "projection_checkpoints WHERE projection = $1", projection)
        return START if row is None else (row[0], row[1])

    async def save_checkpoint(self, projection: str, at: tuple[str, int]) -> None:
        async with self.source.transaction() as tx:
            await tx.execute(
                f"INSERT INTO {self.schema}.projection_checkpoints (projection, transaction_id, position) "
                "VALUES ($1, $2::text::xid8, $3) ON CONFLICT (projection) DO UPDATE SET "
                "transaction_id = EXCLUDED.transaction_id, position = EXCLUDED.position, "
                "updated_at = clock_timestamp()", projection, at[0], at[1])

    async def read_after(self, at: tuple[str, int], limit: int) -> list[Any]:
        async with self.source.transaction() as tx:
            return list(await tx.fetch(self._read_after, at[0], at[1], limit))

    async def states(self, upto: dict[str, int]) -> dict[str, Instance]:
        """Each stream's order state folded from its events up to the given version."""
        async with self.source.transaction() as tx:
            rows = await tx.fetch(self._streams, list(upto), list(upto.values()))
        by_stream: dict[str, list[tuple[str, dict[str, Any]]]] = {}
        for r in rows:
            by_stream.setdefault(r[0], []).append((r[1], json.loads(r[2])))
        return {sid: state for sid, evs in by_stream.items() if (state := fold(self.model, evs)) is not None}


class Projection:
    """Builds one store's read model from the event log (a CatchUp loop), checkpointed after every batch."""

    def __init__(self, name: str, store: TimedStore, events: EventStore, options: StrategyOptions):
        self.name = name
        self.store = store
        self.events = events
        self.at = START
        self.loop = CatchUp(self._next_batch, {store.name: store}, options, events.source.errors)

    async def load(self) -> None:
        self.at = await self.events.checkpoint(self.name)

    @asynccontextmanager
    async def _next_batch(self, limit: int) -> AsyncIterator[Batch]:
        """The state of each order the next events touch, at the version they reach."""
        rows = await self.events.read_after(self.at, limit)
        upto: dict[str, int] = {}
        committed: dict[str, float] = {}
        for r in rows:
            upto[r[2]] = max(upto.get(r[2], 0), r[3])
            committed[r[2]] = r[4]
        states = await self.events.states(upto) if rows else {}
        end = (rows[-1][0], rows[-1][1]) if rows else self.at

        async def advance() -> None:
            await self.events.save_checkpoint(self.name, end)
            self.at = end

        yield Batch(len(rows), [Change(state, upto[sid], committed[sid]) for sid, state in states.items()],
                    advance)

    async def caught_up(self) -> bool:
        return not await self.events.read_after(self.at, 1)

    def details(self) -> dict[str, Any]:
        s = self.loop.stats
        return {"applied": s.applied[self.store.name], "replayed_skipped": s.skipped[self.store.name],
                "batches_retried": s.retries, "checkpoint": list(self.at), "errors": s.errors}


class EventSourcing(Strategy):
    name = "event-sourcing"
    tag = "es"
    description = "append-only events in PostgreSQL; checkpointed projections build the read models"
    needs_source = True
    converges = True
    target_needs = (Upsert,)
    needs_model = "orders"

    @classmethod
    def targets(cls, stores: Iterable[str], source: str = "none") -> tuple[str, ...]:
        return tuple(stores)  # PostgreSQL's orders table is a read model too, built like the others

    def __init__(self, stores: dict[str, TimedStore], options: StrategyOptions, model: Model):
        super().__init__(stores, options, model)
        self.source_ts = stores[options.source]
        source = source_of(self.source_ts)
        self.event_store = EventStore(source, self.source_ts.store.namespace, model)
        self.projections = [Projection(f"{name}-orders", stores[name], self.event_store, options)
                            for name in self.targets(stores, options.source)]
        self.workers = Workers(source.errors)

    async def start(self) -> None:
        await self.event_store.create()
        with contextlib.suppress(*self.event_store.source.errors):  # polling still works without notifications
            await self.workers.listen(self.event_store.source, self.event_store.channel)
        for p in self.projections:
            await p.load()
        self.workers.start(p.loop.run(self.workers) for p in self.projections)

    async def place(self, instance: Instance, index: int) -> Instance | None:
        events = lifecycle(instance)
        ok, version = await self.source_ts.call(
            "write", lambda: self.event_store.append(str(instance[self.key]), 0, events), (str(instance[self.key]),))
        # What the client is told: the order as its events leave it, at its stream's version (the read models').
        return fold(self.model, ((e.type, e.data) for e in events)) if ok and version else None

    async def settle(self, timeout_s: float) -> bool:
        async def all_caught_up() -> bool:
            return all([await p.caught_up() for p in self.projections])

        return await self.workers.settle(all_caught_up, timeout_s)

    async def stop(self) -> None:
        await self.workers.stop()

    def lag(self) -> dict[str, HdrHistogram]:
        return {p.store.name: p.loop.stats.lag[p.store.name] for p in self.projections}

    def details(self) -> dict[str, Any]:
        return {"projections": {p.name: p.details() for p in self.projections}}
