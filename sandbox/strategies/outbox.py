"""Transactional outbox: the root instance and an outbox row commit together in the source of truth (PostgreSQL);
a relay delivers.

The client waits for one transaction only (the source's, contract.TransactionalSource: its model store
writes the instance inside the transaction that also inserts the outbox row). The relay (after Debezium's
outbox pattern, with the database polled instead of its log tailed) wakes up on LISTEN/NOTIFY, claims a batch
of unpublished rows with FOR UPDATE SKIP LOCKED (several relay workers never take the same row), upserts each
instance into the other stores keyed by its key and event version, and marks the rows published in the same
transaction that held their locks. If any store fails, the transaction rolls back and the whole batch comes
again later: delivery is at least once, and the version-guarded upserts make repeats harmless. Any model's
root with a version field (the targets' upserts are gated by it).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from hdrh.histogram import HdrHistogram

from sandbox.errors import UsageError
from sandbox.measure.timing import TimedStore
from sandbox.stores.contract import TransactionalSource, Upsert
from sandbox.strategies.base import Strategy, StrategyOptions
from sandbox.strategies.catchup import Batch, CatchUp, CatchUpStats, Change, Workers
from sandbox.strategies.events import from_payload, payload
from sandbox.workload.dataset import Instance
from sandbox.workload.schema import Model

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

    Each worker is a CatchUp loop (sandbox.strategies.catchup): its fetch claims a batch in a transaction of the
    source, and advancing marks the batch published in that same transaction.
    """

    def __init__(self, source: TransactionalSource, namespace: str, model: Model, targets: dict[str, TimedStore],
                 options: StrategyOptions):
        self.source = source
        self.model = model
        self.options = options
        self.schema = '"' + namespace.replace('"', '""') + '"'
        self.channel = f"{namespace}_outbox"
        self.claim_sql = CLAIM.format(s=self.schema)
        self.stats = CatchUpStats.of(targets)
        self.workers = Workers(source.errors)
        self._loops = [CatchUp(self.claim, targets, options, source.errors, self.stats)
                       for _ in range(options.relay_workers)]
        self.backlog: list[tuple[float, int]] = []
        self._t0 = time.monotonic()

    async def create(self) -> None:
        async with self.source.transaction() as tx:
            await tx.execute(OUTBOX_DDL.format(s=self.schema, channel=self.channel))

    async def enqueue(self, tx: Any, instance: Instance, version: int, event_type: str) -> None:
        """Add the event to the outbox inside the caller's transaction."""
        root = self.model.root_entity
        await tx.execute(f"INSERT INTO {self.schema}.outbox (aggregatetype, aggregateid, type, payload, version) "
                         "VALUES ($1, $2, $3, $4::jsonb, $5)",
                         root.name, str(instance[root.key]), event_type, json.dumps(payload(instance)), version)

    async def start(self) -> None:
        self._t0 = time.monotonic()
        try:
            await self.workers.listen(self.source, self.channel)
        except self.source.errors as exc:  # polling still works without notifications
            self.stats.note(exc)
        self.workers.start([*(loop.run(self.workers) for loop in self._loops), self._sample_backlog()])

    async def stop(self) -> None:
        await self.workers.stop()

    async def unpublished(self) -> int:
        async with self.source.transaction() as tx:
            return int(await tx.fetchval(f"SELECT count(*) FROM {self.schema}.outbox WHERE published_at IS NULL"))

    async def settle(self, timeout_s: float) -> bool:
        async def empty() -> bool:
            return await self.unpublished() == 0

        return await self.workers.settle(empty, timeout_s)

    @asynccontextmanager
    async def claim(self, limit: int) -> AsyncIterator[Batch]:
        """A relay worker's claim of unpublished rows (FOR UPDATE SKIP LOCKED) in a transaction of its own: an
        exception (a store failed) rolls the claim back."""
        async with self.source.transaction() as tx:
            rows = await tx.fetch(self.claim_sql, limit)

            async def publish() -> None:
                await tx.execute(f"UPDATE {self.schema}.outbox SET published_at = clock_timestamp() "
                                 "WHERE id = any($1::bigint[])", [r[0] for r in rows])

            changes = [Change(from_payload(self.model, json.loads(r[2])), r[1], r[3]) for r in rows]
            yield Batch(len(rows), changes, publish)

    async def _sample_backlog(self) -> None:
        while not self.workers.stopped:
            with contextlib.suppress(*self.source.errors):  # the source down: no sample
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


class RelayedStrategy(Strategy):
    """A strategy that commits in its source of truth and lets an outbox relay bring the other stores along."""

    needs_source = True
    converges = True
    target_needs = (Upsert,)

    def __init__(self, stores: dict[str, TimedStore], options: StrategyOptions, model: Model):
        super().__init__(stores, options, model)
        self.source_ts = stores[options.source]
        self.source = source_of(self.source_ts)
        self.relay = OutboxRelay(self.source, self.source_ts.store.namespace, model,
                                 {n: stores[n] for n in self.targets(stores, options.source)}, options)

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


def source_of(ts: TimedStore) -> TransactionalSource:
    """The model store playing the source of truth, as one (its kind declares the role; its design must be one)."""
    if not isinstance(ts.store, TransactionalSource):
        raise UsageError(f"{ts.name} cannot be the source of truth: its design commits no instance inside a "
                         "transaction of the caller's (stores/contract.py TransactionalSource)")
    return ts.store


class Outbox(RelayedStrategy):
    name = "outbox"
    tag = "ob"
    description = "root instance + outbox row in one transaction of the source; a relay upserts into the others"

    async def place(self, instance: Instance, index: int) -> Instance | None:
        ok, _ = await self.source_ts.call("write", lambda: self._commit(instance), (str(instance[self.key]),))
        return instance if ok else None

    async def _commit(self, instance: Instance) -> None:
        version_field = self.model.root_entity.version_field
        version = int(instance[version_field.name]) if version_field is not None else 1
        async with self.source.transaction() as tx:
            await self.source.write_in(tx, instance)
            await self.relay.enqueue(tx, instance, version, f"{self.model.root.capitalize()}Placed")
