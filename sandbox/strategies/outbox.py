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
from typing import Any

import asyncpg
from hdrh.histogram import HdrHistogram

from sandbox.measure.latency import new_histogram, record_us
from sandbox.measure.timing import TimedStore
from sandbox.stores.postgres.adapter import PostgresStore
from sandbox.strategies.base import Strategy, StrategyOptions, pause
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


class DeliveryFailed(Exception):
    """A store refused or could not take part of a batch; the batch stays unpublished."""


class OutboxRelay:
    """The outbox table of one run's schema, and the relay workers that empty it into the other stores."""

    def __init__(self, pg: PostgresStore, targets: dict[str, TimedStore], options: StrategyOptions):
        self.pg = pg
        self.targets = targets
        self.options = options
        self.schema = f'"{pg.namespace}"'
        self.channel = f"{pg.namespace}_outbox"
        self.claim_sql = CLAIM.format(s=self.schema)
        self.lag_hist = {name: new_histogram() for name in targets}
        self.redelivered = dict.fromkeys(targets, 0)  # upserts a store had already applied
        self.retries = 0  # batches rolled back because a store failed
        self.published = 0
        self.errors: list[str] = []
        self.backlog: list[tuple[float, int]] = []
        self._wake = asyncio.Event()
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._listener: asyncpg.Connection | None = None
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
            self._listener = await asyncpg.connect(self.pg.endpoint.url)
            await self._listener.add_listener(self.channel, lambda *_: self._wake.set())
        except (OSError, asyncpg.PostgresError) as exc:  # polling still works without notifications
            self._note(exc)
        self._tasks = [asyncio.create_task(self._worker()) for _ in range(self.options.relay_workers)]
        self._tasks.append(asyncio.create_task(self._sample_backlog()))

    async def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._listener is not None:
            await self._listener.close()

    async def unpublished(self) -> int:
        return int(await self.pg.pool.fetchval(
            f"SELECT count(*) FROM {self.schema}.outbox WHERE published_at IS NULL"))

    async def settle(self, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                if await self.unpublished() == 0:
                    return True
            except (OSError, asyncpg.PostgresError):
                pass
            self._wake.set()
            await asyncio.sleep(0.1)
        return False

    # -- the relay -------------------------------------------------------------------------
    async def _worker(self) -> None:
        conn: asyncpg.Connection | None = None
        backoff = self.options.retry_backoff_s
        try:
            while not self._stop.is_set():
                try:
                    if conn is None or conn.is_closed():
                        conn = await asyncpg.connect(self.pg.endpoint.url)
                    claimed = await self._relay_batch(conn)
                except DeliveryFailed:
                    self.retries += 1
                    await pause(self._wake, self._stop, backoff)
                    backoff = min(backoff * 2, 2.0)
                    continue
                except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:  # PostgreSQL itself
                    self._note(exc)
                    if conn is not None:
                        conn.terminate()
                    conn = None
                    await pause(self._wake, self._stop, backoff)
                    backoff = min(backoff * 2, 2.0)
                    continue
                backoff = self.options.retry_backoff_s
                if claimed == 0:
                    await pause(self._wake, self._stop, self.options.idle_poll_s)
        finally:
            if conn is not None:
                conn.terminate()

    async def _relay_batch(self, conn: asyncpg.Connection) -> int:
        async with conn.transaction():
            rows = await conn.fetch(self.claim_sql, self.options.relay_batch)
            if not rows:
                return 0
            batch = [(order_from_payload(json.loads(r[2])), r[1], r[3]) for r in rows]
            delivered = await asyncio.gather(*(self._deliver(ts, batch) for ts in self.targets.values()))
            if not all(delivered):
                raise DeliveryFailed  # rolls back: the rows stay unpublished and unlocked
            await conn.execute(f"UPDATE {self.schema}.outbox SET published_at = clock_timestamp() "
                               "WHERE id = any($1::bigint[])", [r[0] for r in rows])
        self.published += len(rows)
        return len(rows)

    async def _deliver(self, ts: TimedStore, batch: list[tuple[Order, int, float]]) -> bool:
        """Upsert the batch into one store; False at the first failure (the rest would fail too)."""
        failed = False
        gate = asyncio.Semaphore(self.options.deliver_concurrency)

        async def one(order: Order, version: int, committed_epoch: float) -> None:
            nonlocal failed
            async with gate:
                if failed:
                    return
                ok, applied = await ts.call("upsert", lambda: ts.store.upsert(order, version), (order.id,))
                if not ok:
                    failed = True
                elif applied:
                    record_us(self.lag_hist[ts.name], int((time.time() - committed_epoch) * 1e9))
                else:
                    self.redelivered[ts.name] += 1

        await asyncio.gather(*(one(*item) for item in batch))
        return not failed

    async def _sample_backlog(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(OSError, asyncpg.PostgresError, asyncpg.InterfaceError):  # PG down: no sample
                self.backlog.append((round(time.monotonic() - self._t0, 2), await self.unpublished()))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), 0.25)

    def _note(self, exc: BaseException) -> None:
        if len(self.errors) < 3:
            self.errors.append(f"{type(exc).__name__}: {exc}"[:200])

    def details(self) -> dict[str, Any]:
        step = max(1, len(self.backlog) // BACKLOG_SAMPLES)
        return {"relay_workers": self.options.relay_workers, "published": self.published,
                "batches_retried": self.retries, "redelivered_upserts": self.redelivered,
                "backlog_max": max((n for _, n in self.backlog), default=0),
                "backlog_over_time": self.backlog[::step], "relay_errors": self.errors}


class RelayedStrategy(Strategy):
    """A strategy that commits in PostgreSQL and lets an outbox relay bring the other stores along."""

    def __init__(self, stores: dict[str, TimedStore], options: StrategyOptions):
        super().__init__(stores, options)
        self.pg_ts = stores["postgres"]
        self.pg: PostgresStore = self.pg_ts.store  # type: ignore[assignment]
        self.relay = OutboxRelay(self.pg, {n: ts for n, ts in stores.items() if n != "postgres"}, options)

    async def start(self) -> None:
        await self.relay.create()
        await self.relay.start()

    async def settle(self, timeout_s: float) -> bool:
        return await self.relay.settle(timeout_s)

    async def stop(self) -> None:
        await self.relay.stop()

    def lag(self) -> dict[str, HdrHistogram]:
        return self.relay.lag_hist

    def details(self) -> dict[str, Any]:
        return self.relay.details()


class Outbox(RelayedStrategy):
    name = "outbox"

    async def place(self, order: Order, index: int) -> Order | None:
        ok, _ = await self.pg_ts.call("write", lambda: self._commit(order), (order.id,))
        return order if ok else None

    async def _commit(self, order: Order) -> None:
        async with self.pg.pool.acquire() as conn, conn.transaction():
            await self.pg.write_on(conn, order)
            await self.relay.enqueue(conn, order, 1, "OrderPlaced")
