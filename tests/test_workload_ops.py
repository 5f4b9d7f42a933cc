"""The order-lifecycle operations on the real servers: versioned status updates, stock decrements under
concurrency (no lost updates with each store's own concurrency control; lost updates without it), a
customer's latest orders and a time-range scan."""

from __future__ import annotations

import asyncio
import random
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from sandbox.measure.history import OpHistory, StatusUpdate, StockTake
from sandbox.measure.timing import TimedStore
from sandbox.measure.update_checker import FinalState, UpdateCheck, check_orders, check_stock
from sandbox.stores.base import Capability, Store
from sandbox.stores.registry import StoreRegistry
from sandbox.workload.generator import EPOCH, Workload, WorkloadSpec
from sandbox.workload.model import Catalog, OrderStatus

WORKLOAD = Workload(WorkloadSpec(seed=77, orders=60, customers=4, products=6))
STORE_NAMES = StoreRegistry.built_in().names
SAFE = [name for name in STORE_NAMES if name != "influx"]
STOCK = 12  # every product starts with this much: less than the contending orders want
TAKERS = 30
IN_FLIGHT = 8  # the adapters' default connection pool


def catalog() -> Catalog:
    c = WORKLOAD.catalog
    return replace(c, products=tuple(replace(p, inventory_count=STOCK) for p in c.products))


async def unsafe_take(store: Store, items: tuple[tuple[str, int], ...]) -> bool:
    """Read the stock, then write back what is left: no concurrency control at all (test only)."""
    product_id, quantity = items[0]
    have = (await store.stock_levels([product_id]))[product_id]
    if have < quantity:
        return False
    await asyncio.sleep(0.001)  # another client's read lands here, as it would on a busy server
    left = have - quantity
    if store.name == "postgres":
        await store.pool.execute(f'UPDATE "{store.namespace}".products SET inventory_count = $2 WHERE id = $1',  # type: ignore[attr-defined]
                                 product_id, left)
    elif store.name == "mongo":
        await store.stock.update_one({"_id": product_id}, {"$set": {"stock": left}})  # type: ignore[attr-defined]
    elif store.name == "redis":
        await store.client.set(f"{store.namespace}:stock:{product_id}", left)  # type: ignore[attr-defined]
    else:
        await store.es.index(index=store.products_index, id=product_id, document={"stock": left})  # type: ignore[attr-defined]
    return True


async def contend(store: Store, tmp_path: Path, take) -> UpdateCheck:
    """TAKERS clients each take 1 of the same product at once; the history and the checker judge the result."""
    history = OpHistory(tmp_path / f"{store.name}.jsonl")
    ts = TimedStore(store, listeners=[history.listener])
    product = WORKLOAD.catalog.products[0].id
    value = StockTake("o", ((product, 1),))
    gate = asyncio.Semaphore(IN_FLIGHT)

    async def one() -> None:
        async with gate:
            await ts.call("decrement", lambda: take(store, value.items), (), value=value)

    await asyncio.gather(*(one() for _ in range(TAKERS)))
    history.close()
    result = UpdateCheck(store.name)
    check_stock(result, history.updates.stock[store.name], {product: STOCK}, await store.stock_levels([product]))
    assert ts.op("decrement").failed + ts.op("decrement").unknown == 0, ts.op("decrement").first_errors
    return result


@pytest.mark.parametrize("name", SAFE)
async def test_stock_decrements_lose_nothing_and_never_go_below_zero(name: str, open_store, tmp_path: Path) -> None:
    store = await open_store(name)
    await store.prepare(catalog())
    assert Capability.STOCK in store.capabilities and store.concurrency_control
    result = await contend(store, tmp_path, lambda s, items: s.take_stock(items))
    assert not result.has_findings, result.to_json()
    assert result.stock.counts == {"ok": 1}
    assert await store.stock_levels([WORKLOAD.catalog.products[0].id]) == {WORKLOAD.catalog.products[0].id: 0}


@pytest.mark.parametrize("name", SAFE)
async def test_read_then_write_without_concurrency_control_loses_decrements(name: str, open_store,
                                                                            tmp_path: Path) -> None:
    store = await open_store(name)
    await store.prepare(catalog())
    result = await contend(store, tmp_path, unsafe_take)
    assert result.stock.counts.get("lost_decrement") == 1, result.to_json()
    assert result.has_findings
    assert result.stock.examples["lost_decrement"][0].startswith(WORKLOAD.catalog.products[0].id)


@pytest.mark.parametrize("name", SAFE)
async def test_an_order_with_several_items_takes_all_or_none(name: str, open_store) -> None:
    store = await open_store(name)
    await store.prepare(catalog())
    a, b = (p.id for p in WORKLOAD.catalog.products[1:3])
    assert await store.take_stock(((a, 5), (b, STOCK)))
    assert not await store.take_stock(((a, 5), (b, 1)))  # b is empty: a keeps its stock
    assert await store.stock_levels([a, b]) == {a: STOCK - 5, b: 0}


@pytest.mark.parametrize("name", SAFE)
async def test_concurrent_versioned_updates_end_at_the_newest_version(name: str, open_store, tmp_path: Path) -> None:
    store = await open_store(name)
    await store.prepare(WORKLOAD.catalog)
    orders = list(WORKLOAD.orders(0, 3))
    await store.write_batch(orders)
    history = OpHistory(tmp_path / "h.jsonl")
    ts = TimedStore(store, listeners=[history.listener])
    statuses = list(OrderStatus)
    updates = [StatusUpdate(o.id, statuses[v % len(statuses)].value, v) for o in orders for v in range(2, 22)]
    random.Random(1).shuffle(updates)  # versions arrive out of order, concurrently
    gate = asyncio.Semaphore(IN_FLIGHT)

    async def one(u: StatusUpdate) -> None:
        async with gate:
            await ts.call("update", lambda: store.update_status(u.order_id, u.status, u.version), (u.order_id,),
                          value=u)

    await asyncio.gather(*(one(u) for u in updates))
    history.close()
    for o in orders:
        history.updates.note_preloaded(o.id, o.status.value)
    states = await store.order_states([o.id for o in orders])
    assert {i: v for i, (_, v) in states.items()} == {o.id: 21 for o in orders}
    result = UpdateCheck(name)
    check_orders(result, history.updates.of(name), {i: FinalState(s, v) for i, (s, v) in states.items()})
    assert result.orders.counts == {"ok": 3} and not result.has_findings
    assert not await store.update_status(orders[0].id, "pending", 5)  # older than what it holds: refused
    assert not await store.update_status("00000000-0000-4000-8000-000000000000", "pending", 2)
    # a regressed state, planted behind the store's back, is a finding
    await store.update_status(orders[1].id, "pending", 30)
    regressed = {i: FinalState(s, v) for i, (s, v) in (await store.order_states([o.id for o in orders])).items()}
    result = UpdateCheck(name)
    check_orders(result, history.updates.of(name), regressed)
    assert result.has_findings and orders[1].id in result.orders.examples["impossible"][0]


@pytest.mark.parametrize("name", SAFE)
async def test_latest_orders_of_a_customer_newest_first(name: str, open_store) -> None:
    store = await open_store(name)
    await store.prepare(WORKLOAD.catalog)
    orders = list(WORKLOAD.orders())
    await store.write_batch(orders)
    if name == "elastic":
        await store.es.indices.refresh(index=store.index)  # type: ignore[attr-defined]
    customer = orders[0].customer_id
    mine = sorted((o for o in orders if o.customer_id == customer), key=lambda o: o.created_at, reverse=True)
    assert await store.latest_orders(customer, 5) == [o.id for o in mine[:5]]


@pytest.mark.parametrize("name", STORE_NAMES)
async def test_time_range_scan(name: str, open_store) -> None:
    store = await open_store(name)
    await store.prepare(WORKLOAD.catalog)
    await store.write_batch(list(WORKLOAD.orders()))
    if name == "elastic":
        await store.es.indices.refresh(index=store.index)  # type: ignore[attr-defined]
    start, end = EPOCH + timedelta(milliseconds=100), EPOCH + timedelta(milliseconds=300)  # slots 10..29
    assert await store.orders_between(start, end, 100) == [o.id for o in WORKLOAD.orders(10, 30)]
    assert len(await store.orders_between(start, end, 7)) == 7


async def test_influx_says_it_cannot_update_or_keep_stock(open_store) -> None:
    store = await open_store("influx")
    assert not {Capability.STATUS_UPDATE, Capability.STOCK} & store.capabilities
    assert "append" in store.concurrency_control
    with pytest.raises(NotImplementedError, match="cannot update"):
        await store.update_status("x", "pending", 2)
