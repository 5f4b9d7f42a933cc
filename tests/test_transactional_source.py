"""The source of truth's capability (contract.TransactionalSource) on both PostgreSQL designs: a root instance and
the caller's own rows commit together or not at all, version-gated inside the transaction, and notifications wake
a listener; and the decrement pattern the saga reserves stock with gives it back with a negative amount."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from sandbox.stores.contract import Params, TransactionalSource
from tests.helpers import orders

pytestmark = pytest.mark.stores("postgres")
DATA = orders(9, 6, customer=10, product=8)
MODEL = DATA.model


class Boom(Exception):
    pass


@pytest.mark.parametrize("store", ["postgres", "postgres:jsonb"])
async def test_an_instance_and_the_callers_rows_commit_together_or_not_at_all(store: str, open_model_store) -> None:
    pg: Any = await open_model_store(store, model=MODEL)
    assert isinstance(pg, TransactionalSource)
    await pg.prepare(DATA)
    schema = '"' + pg.namespace + '"'
    async with pg.transaction() as tx:
        await tx.execute(f"CREATE TABLE {schema}.log (key TEXT PRIMARY KEY, what TEXT NOT NULL)")
    first, second = DATA.root(0), DATA.root(1)
    with pytest.raises(Boom):
        async with pg.transaction() as tx:
            assert await pg.write_in(tx, first) is True
            await tx.execute(f"INSERT INTO {schema}.log VALUES ($1, 'placed')", first["id"])
            raise Boom  # the caller's failure after both: neither stays
    assert await pg.read("order", first["id"]) is None
    async with pg.transaction() as tx:
        await pg.write_in(tx, second)
        await tx.execute(f"INSERT INTO {schema}.log VALUES ($1, 'placed')", second["id"])
    assert await pg.read("order", second["id"]) is not None
    # Version-gated inside the caller's transaction: a newer version applies, an older or equal one does not.
    async with pg.transaction() as tx:
        assert await pg.write_in(tx, {**second, "status": "cancelled", "version": 2}, 2) is True
        assert await pg.write_in(tx, {**second, "status": "shipped", "version": 2}, 2) is False
    held = await pg.read("order", second["id"])
    assert (held["status"], held["version"]) == ("cancelled", 2) and len(held["items"]) == len(second["items"])
    async with pg.transaction() as tx:
        assert await tx.fetchval(f"SELECT count(*) FROM {schema}.log") == 1


async def test_a_notification_wakes_the_listener(open_model_store) -> None:
    pg: Any = await open_model_store("postgres", model=MODEL)
    woken = asyncio.Event()
    close = await pg.listen(f"{pg.namespace}_test", woken.set)
    try:
        async with pg.transaction() as tx:
            await tx.execute(f"SELECT pg_notify('{pg.namespace}_test', '')")
        await asyncio.wait_for(woken.wait(), 5)
    finally:
        await close()


async def test_a_negative_decrement_gives_back_what_the_same_targets_took(open_model_store) -> None:
    pg: Any = await open_model_store("postgres", model=MODEL)
    await pg.prepare(DATA)
    take = pg.answer(MODEL.patterns["take_stock"])
    products = DATA.reference["product"][:3]
    before = {p["id"]: p["inventory_count"] for p in products}
    targets = tuple((p["id"], 2) for p in products)
    assert await take(Params(targets=targets)) is True
    assert await take(Params(targets=tuple((k, -n) for k, n in targets))) is True
    assert {p["id"]: (await pg.read("product", p["id"]))["inventory_count"] for p in products} == before
    # All or none, never below the floor: one target short, none is taken.
    short = ((products[0]["id"], 1), (products[1]["id"], before[products[1]["id"]] + 1))
    assert await take(Params(targets=short)) is False
    assert (await pg.read("product", products[0]["id"]))["inventory_count"] == before[products[0]["id"]]
