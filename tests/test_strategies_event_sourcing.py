"""The event store's optimistic concurrency and the projections' rebuild and resume, on the shared stack."""

from __future__ import annotations

import asyncio
import secrets

from sandbox.strategies.base import StrategyOptions
from sandbox.strategies.event_sourcing import START, ConcurrencyConflict, EventStore, Projection
from sandbox.strategies.events import Event, fold, lifecycle
from sandbox.workload.generator import Workload, WorkloadSpec
from sandbox.workload.model import OrderStatus
from tests.helpers import catch_up, connect, drop, shared_settings

WORKLOAD = Workload(WorkloadSpec(5, 80))
OPTIONS = StrategyOptions(seed=5, relay_batch=25, source="postgres")


def test_lifecycle_folds_back_to_the_workload_order() -> None:
    for order in WORKLOAD.orders(0, 40):
        events = lifecycle(order)
        assert events[0].type == "OrderInitiated"
        assert fold((e.type, e.data) for e in events) == order


async def test_two_appends_at_one_expected_version_exactly_one_wins() -> None:
    stores = await connect(shared_settings(), ["postgres"], f"sbx_t{secrets.token_hex(3)}")
    try:
        await stores["postgres"].store.prepare(WORKLOAD.catalog)
        events = EventStore(stores["postgres"].store)  # type: ignore[arg-type]
        await events.create()
        for n in range(15):  # a race, so try it several times on fresh streams
            stream = f"order-{n}"
            assert await events.append(stream, 0, [Event("OrderInitiated", {"n": n})]) == 1
            results = await asyncio.gather(events.append(stream, 1, [Event("OrderConfirmed", {"by": "a"})]),
                                           events.append(stream, 1, [Event("OrderCancelled", {"by": "b"})]),
                                           return_exceptions=True)
            assert sorted(type(r).__name__ for r in results) == ["ConcurrencyConflict", "int"], results
            versions = await events.pg.pool.fetch(f"SELECT version FROM {events.schema}.events "
                                                  "WHERE stream_id = $1 ORDER BY version", stream)
            assert [r[0] for r in versions] == [1, 2]
        try:
            await events.append("order-0", 5, [Event("OrderRefunded", {})])
            raise AssertionError("an append at a version the stream is not at went through")
        except ConcurrencyConflict:
            pass
    finally:
        await drop(stores)


async def test_rebuilt_projection_equals_incremental_and_resume_adds_no_duplicates() -> None:
    settings = shared_settings()
    ns = f"sbx_t{secrets.token_hex(3)}"
    live = await connect(settings, ["postgres", "mongo", "redis"], ns)
    rebuilt = await connect(settings, ["mongo", "redis"], ns + "_rb")
    try:
        await asyncio.gather(*(ts.store.prepare(WORKLOAD.catalog) for ts in [*live.values(), *rebuilt.values()]))
        events = EventStore(live["postgres"].store)  # type: ignore[arg-type]
        await events.create()
        incremental = {n: Projection(f"{n}-orders", live[n], events, OPTIONS) for n in ("mongo", "redis")}
        # Incremental: the projections run while orders arrive, and a later event changes a status.
        for i, order in enumerate(WORKLOAD.orders()):
            await events.append(order.id, 0, lifecycle(order))
            if i % 20 == 19:
                assert await catch_up(incremental.values(), 30)
        first = WORKLOAD.order(0)
        version = len(lifecycle(first))
        await events.append(first.id, version, [Event("OrderRefunded", {})])
        assert await catch_up(incremental.values(), 30)

        for name, ts in rebuilt.items():
            assert await catch_up([Projection(f"{name}-rebuild", ts, events, OPTIONS)], 60)
            assert await _model(ts) == await _model(live[name])
            assert await ts.store.aggregates() == await live[name].store.aggregates()
        assert (await live["redis"].store.read(first.id)).status == OrderStatus.REFUNDED.value  # type: ignore[union-attr]

        # A crash before the checkpoint was saved: the projection replays from an old checkpoint.
        redis = incremental["redis"]
        before = (await _model(live["redis"]), await live["redis"].store.aggregates())
        await events.save_checkpoint(redis.name, START)
        resumed = Projection(redis.name, live["redis"], events, OPTIONS)
        await resumed.load()
        assert await catch_up([resumed], 60)
        assert resumed.loop.stats.applied["redis"] == 0 and resumed.loop.stats.skipped["redis"] > 0
        assert (await _model(live["redis"]), await live["redis"].store.aggregates()) == before
    finally:
        await drop(live)
        await drop(rebuilt)


async def _model(ts) -> list:  # type: ignore[no-untyped-def]
    return sorted([r async for r in ts.store.scan()], key=lambda r: r.order_id)


def test_fold_ignores_events_before_initiation() -> None:
    assert fold([("OrderConfirmed", {})]) is None
