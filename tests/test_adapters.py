"""Each store adapter against its real server: write, batch write, read back, aggregates, teardown."""

from __future__ import annotations

from dataclasses import replace

import pytest

from sandbox.config import Settings
from sandbox.errors import UsageError
from sandbox.measure.consistency import compare_store, diff_record, expected_totals
from sandbox.stores.base import Capability
from sandbox.stores.registry import StoreRegistry
from sandbox.workload.generator import Workload, WorkloadSpec
from sandbox.workload.model import OrderStatus
from tests.helpers import new_namespace
from tests.raw import Raw

# Every store, and Redis once more through its second client library: the same contract for both.
pytestmark = pytest.mark.parametrize("name", [*StoreRegistry.built_in().names, "redis[valkey-glide]"])
WORKLOAD = Workload(WorkloadSpec(seed=2024, orders=40, customers=30, products=25))


def created_ms(index: int) -> int:
    return int(WORKLOAD.order(index).created_at.timestamp() * 1000)


async def test_write_batch_read_scan_aggregates(name: str, open_store) -> None:
    store = await open_store(name)
    await store.prepare(WORKLOAD.catalog)
    orders = list(WORKLOAD.orders())
    await store.write(orders[0])
    await store.write_batch(orders[1:])

    for order in (orders[0], orders[17], orders[-1]):
        got = await store.read(order.id)
        assert got is not None, f"{name} lost order {order.id}"
        assert diff_record(order.record(), got) == []
    assert await store.read("00000000-0000-4000-8000-000000000000") is None

    expected = {o.id: o.record() for o in orders}
    totals = expected_totals(expected.values())
    result = await compare_store(name.partition('[')[0], expected, store.scan(), totals, await store.aggregates())
    assert result.held == len(orders)
    assert result.consistent, result.to_json()
    assert {"status", "total", "item_count"} <= result.fields_compared
    # Float-backed stores may drift below a cent in sums; exact ones may not drift at all.
    if store.money_note == "exact decimal":
        assert all(a.kind == "ok" for a in result.aggregates)


async def test_teardown_drops_only_its_own_namespace(name: str, live: Settings, open_store) -> None:
    foreign = new_namespace()
    async with Raw(name.partition('[')[0], live) as raw:
        await raw.plant_foreign(foreign)
        try:
            store = await open_store(name)
            await store.prepare(WORKLOAD.catalog)
            await store.write_batch(list(WORKLOAD.orders(0, 5)))
            assert await raw.namespace_exists(store.namespace)
            await store.teardown()
            assert not await raw.namespace_exists(store.namespace)
            assert await raw.foreign_intact(foreign), f"{name} teardown touched data it did not create"
        finally:
            await raw.drop_foreign(foreign)


async def test_prepare_refuses_a_namespace_that_exists(name: str, live: Settings, open_store) -> None:
    taken = new_namespace()
    async with Raw(name.partition('[')[0], live) as raw:
        await raw.plant_foreign(taken)
        try:
            store = await open_store(name, namespace=taken)
            with pytest.raises(UsageError, match="already"):
                await store.prepare(WORKLOAD.catalog)
            await store.teardown()  # must not drop what it did not create
            assert await raw.foreign_intact(taken)
        finally:
            await raw.drop_foreign(taken)


async def test_comparison_reports_corrupted_and_deleted_orders(name: str, live: Settings, open_store) -> None:
    store = await open_store(name)
    await store.prepare(WORKLOAD.catalog)
    orders = list(WORKLOAD.orders(0, 12))
    await store.write_batch(orders)
    corrupted, deleted = orders[3], orders[8]
    new_status = "refunded" if corrupted.status.value != "refunded" else "pending"
    async with Raw(name.partition('[')[0], live) as raw:
        await raw.set_status(store.namespace, corrupted.id, new_status, created_ms(3))
        await raw.delete(store.namespace, deleted.id, created_ms(8))

    expected = {o.id: o.record() for o in orders}
    result = await compare_store(name.partition('[')[0], expected, store.scan(), expected_totals(expected.values()),
                                 await store.aggregates())
    assert result.missing == [deleted.id]
    assert result.differing_orders == 1
    assert any(d.order_id == corrupted.id and d.field == "status" and d.got == new_status for d in result.differing)
    assert not result.consistent


async def test_upsert_applies_newer_versions_only(name: str, open_store) -> None:
    store = await open_store(name)
    await store.prepare(WORKLOAD.catalog)
    order = WORKLOAD.order(5)
    newer = replace(order, status=OrderStatus.REFUNDED if order.status != OrderStatus.REFUNDED
                    else OrderStatus.PENDING)
    if Capability.UPSERT not in store.capabilities:
        with pytest.raises(NotImplementedError):
            await store.upsert(order, 1)
        return
    assert await store.upsert(order, 1) is True
    assert await store.upsert(newer, 2) is True
    assert await store.upsert(order, 2) is False and await store.upsert(order, 1) is False  # redelivered, older
    got = await store.read(order.id)
    assert got is not None and got.status == newer.status.value
    totals = await store.aggregates()
    assert sum(t.count for t in totals.values()) == 1 and totals[newer.status.value].count == 1
    assert totals[newer.status.value].revenue == newer.total_amount
