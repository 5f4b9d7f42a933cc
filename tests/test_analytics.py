"""The analytics query set on every real store, on the orders model's designs: each answer agrees with
PostgreSQL's, PostgreSQL's with the generated orders themselves, and a corrupted order shows up as a difference."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from sandbox.config import Settings
from sandbox.experiments.analytics.answers import compare_answer, reference_answer
from sandbox.stores import make_model_store
from sandbox.stores.analytics import Analytics, NotAnswerable, Query, QueryParams
from sandbox.workload import model_file
from sandbox.workload.dataset import Dataset, Instance, Sizes
from tests.helpers import BUILT_IN, PROJECT, new_namespace

MODEL = model_file.load(PROJECT / "models" / "orders.toml")
DATA = Dataset(MODEL, 1414, Sizes(10**7, {"customer": 30, "product": 25}))
# Every 9001st order: 300 orders over about 7.5 hours, so the hourly buckets are many.
ORDERS = [DATA.root(i) for i in range(0, 300 * 9001, 9001)]
MIDDLE = ORDERS[150]["created_at"]
PARAMS = QueryParams(*QueryParams.catalog(DATA), ORDERS[0]["created_at"],
                     ORDERS[-1]["created_at"] + timedelta(seconds=1), MIDDLE - timedelta(hours=1),
                     MIDDLE + timedelta(hours=1), Decimal("700.00"), top=10)
# What each design can answer (the rest must say NotAnswerable, never scan client-side).
ANSWERS = {
    "postgres": set(Query), "postgres:jsonb": set(Query), "mongo": set(Query), "mongo:referenced": set(Query),
    # The orders model's patterns index no item field: the nested items are kept in _source only.
    "elastic": set(Query) - {Query.ITEMS_BY_CATEGORY},
    "influx": {Query.REVENUE_BY_HOUR, Query.ORDERS_ABOVE},
    # The hourly aggregate pattern's counters and each customer's sorted set.
    "redis": {Query.REVENUE_BY_HOUR, Query.LATEST_ORDER},
}
Open = Callable[[str], Awaitable[Any]]


@pytest.fixture
async def open_model(live: Settings) -> AsyncIterator[Open]:
    """Factory: a connected model store of the orders model in a fresh namespace; dropped after the test."""
    opened: list[Any] = []

    async def factory(name: str) -> Any:
        store = make_model_store(live, name, new_namespace(), MODEL)
        await store.connect()
        opened.append(store)
        return store

    yield factory
    for store in opened:
        try:
            await store.teardown()
        finally:
            await store.close()


def corrupted(order: Instance) -> Instance:
    """The first order a day later (still valid against every check of the model): a new hour bucket, one order
    fewer in its old one, and its customer's latest order."""
    return {**order, "created_at": order["created_at"] + timedelta(days=1)}


async def loaded(open_model: Open, name: str, orders: list[Instance]) -> Any:
    store = await open_model(name)
    await store.prepare(DATA)
    assert isinstance(store, Analytics)
    assert await store.prepare_analytics(DATA), f"{name}: prepare_analytics lists nothing"
    await store.write_batch(orders)
    return store


async def answers(store: Any) -> dict[Query, object]:
    out: dict[Query, object] = {}
    for query in Query:
        try:
            out[query] = await store.answer_question(query, PARAMS)
        except NotAnswerable as exc:
            out[query] = exc
    return out


def test_every_store_in_the_registry_is_covered() -> None:
    assert {name.partition(":")[0] for name in ANSWERS} == set(BUILT_IN.names)


@pytest.mark.stores("postgres")
async def test_postgres_agrees_with_the_generated_orders(open_model: Open) -> None:
    pg = await loaded(open_model, "postgres", ORDERS)
    for query, got in (await answers(pg)).items():
        reference = reference_answer(query, ORDERS, PARAMS)
        assert reference.rows, f"{query}: the seeded data gives an empty answer; the test would prove nothing"
        check = compare_answer("postgres", query, reference, got)  # type: ignore[arg-type]
        assert check.kind == "agrees", check.to_json()


@pytest.mark.parametrize("name", [s for s in ANSWERS if s != "postgres"])
async def test_store_agrees_with_postgres_and_sees_a_corrupted_order(name: str, open_model: Open) -> None:
    pg = await answers(await loaded(open_model, "postgres", ORDERS))
    good = await answers(await loaded(open_model, name, ORDERS))
    bad = await answers(await loaded(open_model, name, [corrupted(ORDERS[0]), *ORDERS[1:]]))
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
