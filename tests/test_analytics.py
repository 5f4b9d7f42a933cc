"""The analytics query set on every real store: each answer agrees with PostgreSQL's, PostgreSQL's with
the workload itself, and a corrupted order shows up as a difference."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from decimal import Decimal

import pytest

from sandbox.experiments.analytics.answers import compare_answer, reference_answer
from sandbox.stores.analytics import Analytics, NotAnswerable, Query, QueryParams
from sandbox.stores.base import Capability, Store
from sandbox.workload.generator import Workload, WorkloadSpec
from sandbox.workload.model import Order
from tests.helpers import BUILT_IN

WORKLOAD = Workload(WorkloadSpec(seed=1414, orders=10**7, customers=30, products=25))
# Every 9001st order: 300 orders over about 7.5 hours, so the hourly buckets are many.
ORDERS = [WORKLOAD.order(i) for i in range(0, 300 * 9001, 9001)]
MIDDLE = ORDERS[150].created_at
PARAMS = QueryParams(WORKLOAD.catalog, ORDERS[0].created_at, ORDERS[-1].created_at + timedelta(seconds=1),
                     MIDDLE - timedelta(hours=1), MIDDLE + timedelta(hours=1), Decimal("700.00"), top=10)
STORES = [name for name in BUILT_IN.names if Capability.ANALYTICS in BUILT_IN.kind(name).capabilities]
# What each store's model can answer (the rest must say NotAnswerable, never scan client-side).
ANSWERS = {
    "postgres": set(Query), "mongo": set(Query), "elastic": set(Query),
    "influx": {Query.REVENUE_BY_HOUR, Query.ORDERS_ABOVE}, "redis": {Query.LATEST_ORDER},
}


def corrupted(order: Order) -> Order:
    """The first order a day later and 10.00 dearer: a new hour bucket, its customer's latest, more revenue."""
    return dataclasses.replace(order, created_at=order.created_at + timedelta(days=1),
                               subtotal=order.subtotal + Decimal("10.00"))


async def loaded(open_store, name: str, orders: list[Order]) -> Store:
    store = await open_store(name)
    await store.prepare(WORKLOAD.catalog)
    assert isinstance(store, Analytics)
    assert await store.prepare_analytics(WORKLOAD.catalog), f"{name}: prepare_analytics lists nothing"
    await store.write_batch(orders)
    return store


async def answers(store: Store) -> dict[Query, object]:
    assert isinstance(store, Analytics)
    out: dict[Query, object] = {}
    for query in Query:
        try:
            out[query] = await store.answer(query, PARAMS)
        except NotAnswerable as exc:
            out[query] = exc
    return out


async def test_every_store_in_the_registry_is_covered() -> None:
    assert set(STORES) == set(ANSWERS)


async def test_postgres_agrees_with_the_workload(open_store) -> None:
    pg = await loaded(open_store, "postgres", ORDERS)
    for query, got in (await answers(pg)).items():
        reference = reference_answer(query, ORDERS, PARAMS)
        assert reference.rows, f"{query}: the seeded data gives an empty answer; the test would prove nothing"
        check = compare_answer("postgres", query, reference, got)  # type: ignore[arg-type]
        assert check.kind == "agrees", check.to_json()


@pytest.mark.parametrize("name", [s for s in STORES if s != "postgres"])
async def test_store_agrees_with_postgres_and_sees_a_corrupted_order(name: str, open_store) -> None:
    pg = await answers(await loaded(open_store, "postgres", ORDERS))
    good = await answers(await loaded(open_store, name, ORDERS))
    bad = await answers(await loaded(open_store, name, [corrupted(ORDERS[0]), *ORDERS[1:]]))
    for query in Query:
        if query not in ANSWERS[name]:
            assert isinstance(good[query], NotAnswerable), f"{name} {query}: expected 'not answerable'"
            assert str(good[query]), "the reason is reported"
            continue
        check = compare_answer(name, query, pg[query], good[query])  # type: ignore[arg-type]
        assert check.kind in ("agrees", "drift"), check.to_json()
        if query in (Query.REVENUE_BY_HOUR, Query.LATEST_ORDER):
            broken = compare_answer(name, query, pg[query], bad[query])  # type: ignore[arg-type]
            assert broken.kind == "differs" and broken.examples, broken.to_json()
