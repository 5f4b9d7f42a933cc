"""The event store's optimistic concurrency and the projections' rebuild and resume, on the shared stack."""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

import pytest

from sandbox.measure.timing import TimedStore
from sandbox.stores.contract import Params
from sandbox.strategies.base import StrategyOptions
from sandbox.strategies.event_sourcing import START, ConcurrencyConflict, EventStore, Projection
from sandbox.strategies.events import Event, fold, from_payload, lifecycle, payload
from tests.helpers import catch_up, connect, drop, orders, shared_settings

pytestmark = pytest.mark.stores("postgres", "mongo", "redis")
DATA = orders(5, 80, customer=40, product=30)
MODEL = DATA.model
OPTIONS = StrategyOptions(seed=5, relay_batch=25, source="postgres")


def test_payload_round_trips_and_lifecycle_folds_back_to_the_order_at_its_streams_version() -> None:
    for order in DATA.roots(0, 40):
        assert from_payload(MODEL, payload(order)) == order
        events = lifecycle(order)
        assert events[0].type == "OrderInitiated"
        assert fold(MODEL, ((e.type, e.data) for e in events)) == {**order, "version": len(events)}
    statuses = {o["status"] for o in DATA.roots(0, 40)}
    assert {"pending", "cancelled", "delivered"} <= statuses  # the lifecycle's branches were all walked


def test_fold_ignores_events_before_initiation() -> None:
    assert fold(MODEL, [("OrderConfirmed", {})]) is None


async def test_two_appends_at_one_expected_version_exactly_one_wins() -> None:
    stores = await connect(shared_settings(), ["postgres"], f"sbx_t{secrets.token_hex(3)}", DATA)
    try:
        pg = stores["postgres"].store
        await pg.prepare(DATA)
        events = EventStore(pg, pg.namespace, MODEL)
        await events.create()
        for n in range(15):  # a race, so try it several times on fresh streams
            stream = f"order-{n}"
            assert await events.append(stream, 0, [Event("OrderInitiated", {"n": n})]) == 1
            results = await asyncio.gather(events.append(stream, 1, [Event("OrderConfirmed", {"by": "a"})]),
                                           events.append(stream, 1, [Event("OrderCancelled", {"by": "b"})]),
                                           return_exceptions=True)
            assert sorted(type(r).__name__ for r in results) == ["ConcurrencyConflict", "int"], results
            async with events.source.transaction() as tx:
                versions = await tx.fetch(f"SELECT version FROM {events.schema}.events "
                                          "WHERE stream_id = $1 ORDER BY version", stream)
            assert [r[0] for r in versions] == [1, 2]
        with pytest.raises(ConcurrencyConflict):  # an append at a version the stream is not at
            await events.append("order-0", 5, [Event("OrderRefunded", {})])
    finally:
        await drop(stores)


async def test_rebuilt_projection_equals_incremental_and_resume_adds_no_duplicates() -> None:
    settings = shared_settings()
    ns = f"sbx_t{secrets.token_hex(3)}"
    live = await connect(settings, ["postgres", "mongo", "redis"], ns, DATA)
    rebuilt = await connect(settings, ["mongo", "redis"], ns + "_rb", DATA)
    try:
        await asyncio.gather(*(ts.store.prepare(DATA) for ts in [*live.values(), *rebuilt.values()]))
        pg = live["postgres"].store
        events = EventStore(pg, pg.namespace, MODEL)
        await events.create()
        incremental = {n: Projection(f"{n}-orders", live[n], events, OPTIONS) for n in ("mongo", "redis")}
        # Incremental: the projections run while orders arrive, and a later event changes a status.
        for i, order in enumerate(DATA.roots()):
            await events.append(order["id"], 0, lifecycle(order))
            if i % 20 == 19:
                assert await catch_up(incremental.values(), 30)
        first = DATA.root(0)
        version = len(lifecycle(first))
        await events.append(first["id"], version, [Event("OrderRefunded", {})])
        assert await catch_up(incremental.values(), 30)

        for name, ts in rebuilt.items():
            assert await catch_up([Projection(f"{name}-rebuild", ts, events, OPTIONS)], 60)
            assert await _model(ts) == await _model(live[name])
            assert await _revenue(ts) == await _revenue(live[name])
        refunded = await live["redis"].store.read(MODEL.root, first["id"])
        assert refunded["status"] == "refunded" and refunded["version"] == version + 1

        # A crash before the checkpoint was saved: the projection replays from an old checkpoint.
        redis = incremental["redis"]
        before = (await _model(live["redis"]), await _revenue(live["redis"]))
        await events.save_checkpoint(redis.name, START)
        resumed = Projection(redis.name, live["redis"], events, OPTIONS)
        await resumed.load()
        assert await catch_up([resumed], 60)
        assert resumed.loop.stats.applied["redis"] == 0 and resumed.loop.stats.skipped["redis"] > 0
        assert (await _model(live["redis"]), await _revenue(live["redis"])) == before
    finally:
        await drop(live)
        await drop(rebuilt)


async def _model(ts: TimedStore) -> list[dict[str, Any]]:
    return sorted([r async for r in ts.store.scan(MODEL.root)], key=lambda r: r["id"])


async def _revenue(ts: TimedStore) -> list[Any]:
    """The store's own counters / aggregation of the orders it holds (the model's checked aggregate)."""
    answer = ts.store.answer(MODEL.patterns["revenue_by_status"])
    return sorted(await answer(Params()), key=lambda r: str(r.group))
