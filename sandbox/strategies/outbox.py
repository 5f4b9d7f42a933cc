"""Transactional outbox: the order and an outbox row commit together in PostgreSQL; a relay delivers.

The client waits for one PostgreSQL transaction only. The relay (after Debezium's outbox pattern, with
the database polled instead of its log tailed) wakes up on LISTEN/NOTIFY, claims a batch of unpublished
rows with FOR UPDATE SKIP LOCKED (several relay workers never take the same row), upserts each order
into the other stores keyed by order id and event version, and marks the rows published in the same
transaction that held their locks. If any store fails, the transaction rolls back and the whole batch
comes again later: delivery is at least once, and the version-guarded upserts make repeats harmless.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from hdrh.histogram import HdrHistogram

from sandbox.measure.timing import TimedStore
from sandbox.stores.base import Capability
from sandbox.stores.postgres.adapter import PostgresStore
from sandbox.strategies.base import Strategy, StrategyOptions
from sandbox.strategies.catchup import SOURCE_ERRORS, Batch, CatchUp, CatchUpStats, Change, Workers
from sandbox.strategies.events import order_from_payload, order_payload
from sandbox.workload.model import Order

OUTBOX_DDL = """
CREATE TABLE {s}.outbox (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    aggregatetype VARCHAR(255) NOT NULL,
    aggregateid VARCHAR(255) NOT NULL,
    type VARCHAR(255) NOT NULL,
    payload JSONB NOT NULL,
    -- beyond Debezium's shape: the aggregate's version (the idempotency key with aggregateid),
    -- when the row was written (for relay lag) and when it was published
    version INTEGER NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
    published_at TIMESTAMPTZ);
CREATE INDEX outbox_unpublished ON {s}.outbox (id) WHERE published_at IS NULL;
CREATE FUNCTION {s}.outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN PERFORM pg_notify('{channel}', ''); RETURN NULL; END $$;
CREATE TRIGGER outbox_notify AFTER INSERT ON {s}.outbox FOR EACH STATEMENT EXECUTE FUNCTION {s}.outbox_notify();
"""

CLAIM = """
SELECT id, version, payload::text, extract(epoch FROM created_at)::float8
FROM {s}.outbox WHERE published_at IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED
"""

BACKLOG_SAMPLES = 240


class OutboxRelay:
    """The outbox table of one run's schema, and the relay workers that empty it into the other stores.

    Each worker is a CatchUp loop (sandbox.strategies.catchup) on a connection of its own: its fetch
    claims a batch in a transaction, and advancing marks the batch published in that same transaction.
    """

    def __init__(self, pg: PostgresStore, targets: dict[str, TimedStore], options: StrategyOptions):
        self.pg = pg
        self.options = options
        self.schema = f'"{pg.namespace}"'
        self.channel = f"{pg.namespace}_outbox"
        self.claim_sql = CLAIM.format(s=self.schema)
        self.stats = CatchUpStats.of(targets)
        self.workers = Workers()
        self._claims = [_Claims(self) for _ in range(options.relay_workers)]
        self._loops = [CatchUp(c.claim, targets, options, self.stats) for c in self._claims]
        self.backlog: list[tuple[float, int]] = []
        self._t0 = time.monotonic()

    async def create(self) -> None:
        await self.pg.pool.execute(OUTBOX_DDL.format(s=self.schema, channel=self.channel))

    async def enqueue(self, conn: asyncpg.Connection, order: Order, version: int, event_type: str) -> None:
        """Add the event to the outbox inside the caller's transaction."""
        await conn.execute(f"INSERT INTO {self.schema}.outbox (aggregatetype, aggregateid, type, payload, version) "
                           "VALUES ('order', $1, $2, $3::jsonb, $4)",
                           order.id, event_type, json.dumps(order_payload(order)), version)

    async def start(self) -> None:
        self._t0 = time.monotonic()
        try:
            await self.workers.listen(self.pg.endpoint.url, self.channel)
        except SOURCE_ERRORS as exc:  # polling still works without notifications
            self.stats.note(exc)
        self.workers.start([*(loop.run(self.workers) for loop in self._loops), self._sample_backlog()])

    async def stop(self) -> None:
        await self.workers.stop()
        for claims in self._claims:
            claims.close()

    async def unpublished(self) -> int:
        return int(await self.pg.pool.fetchval(
            f"SELECT count(*) FROM {self.schema}.outbox WHERE published_at IS NULL"))

    async def settle(self, timeout_s: float) -> bool:
        async def empty() -> bool:
            return await self.unpublished() == 0

        return await self.workers.settle(empty, timeout_s)

    async def _sample_backlog(self) -> None:
        while not self.workers.stopped:
            with contextlib.suppress(*SOURCE_ERRORS):  # PostgreSQL down: no sample
                self.backlog.append((round(time.monotonic() - self._t0, 2), await self.unpublished()))
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(0.25):
                    await self.workers.stop_signal.wait()

    def details(self) -> dict[str, Any]:
        step = max(1, len(self.backlog) // BACKLOG_SAMPLES)
        return {"relay_workers": self.options.relay_workers, "published": self.stats.advanced,
                "batches_retried": self.stats.retries, "redelivered_upserts": self.stats.skipped,
                "backlog_max": max((n for _, n in self.backlog), default=0),
                "backlog_over_time": self.backlog[::step], "relay_errors": self.stats.errors}


class _Claims:
    """One relay worker's connection, and its claims of unpublished rows (FOR UPDATE SKIP LOCKED)."""

    def __init__(self, relay: OutboxRelay):
        self.relay = relay
        self.conn: asyncpg.Connection | None = None

    @asynccontextmanager
    async def claim(self, limit: int) -> AsyncIterator[Batch]:
        relay = self.relay
        try:
            if self.conn is None or self.conn.is_closed():
                self.conn = await asyncpg.connect(relay.pg.endpoint.url)
            conn = self.conn
            async with conn.transaction():  # an exception (a store failed) rolls the claim back
                rows = await conn.fetch(relay.claim_sql, limit)

                async def publish() -> None:
                    await conn.execute(f"UPDATE {relay.schema}.outbox SET published_at = clock_timestamp() "
                                       "WHERE id = any($1::bigint[])", [r[0] for r in rows])

                changes = [Change(order_from_payload(json.loads(r[2])), r[1], r[3]) for r in rows]
                yield Batch(len(rows), changes, publish)
        except SOURCE_ERRORS:
            self.close()  # a fresh connection for the next claim
            raise

    def close(self) -> None:
        if self.conn is not None:
            self.conn.terminate()
        self.conn = None


class RelayedStrategy(Strategy):
    """A strategy that commits in PostgreSQL and lets an outbox relay bring the other stores along."""

    needs_source = True
    converges = True
    target_needs = frozenset({Capability.UPSERT})

    def __init__(self, stores: dict[str, TimedStore], options: StrategyOptions):
        super().__init__(stores, options)
        self.pg_ts = stores[options.source]
        self.pg: PostgresStore = self.pg_ts.store  # type: ignore[assignment]
        self.relay = OutboxRelay(self.pg, {n: stores[n] for n in self.targets(stores, options.source)}, options)

    async def start(self) -> None:
        await self.relay.create()
        await self.relay.start()

    async def settle(self, timeout_s: float) -> bool:
        return await self.relay.settle(timeout_s)

    async def stop(self) -> None:
        await self.relay.stop()

    def lag(self) -> dict[str, HdrHistogram]:
        return self.relay.stats.lag

    def details(self) -> dict[str, Any]:
        return self.relay.details()


class Outbox(RelayedStrategy):
    name = "outbox"
    tag = "ob"
    description = "order + outbox row in one PostgreSQL transaction; a relay upserts into the others"

    async def place(self, order: Order, index: int) -> Order | None:
        ok, _ = await self.pg_ts.call("write", lambda: self._commit(order), (order.id,))
        return order if ok else None

    async def _commit(self, order: Order) -> None:
        async with self.pg.pool.acquire() as conn, conn.transaction():
            await self.pg.write_on(conn, order)
            await self.relay.enqueue(conn, order, 1, "OrderPlaced")
