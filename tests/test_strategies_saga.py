"""Saga compensation under concurrency: stock never negative, inventory = initial - confirmed."""

from __future__ import annotations

import asyncio
import secrets

import pytest

from sandbox.strategies.base import StrategyOptions
from sandbox.strategies.saga import DECLINED, OUT_OF_STOCK, Saga
from tests.helpers import connect, drop, orders, shared_settings

pytestmark = pytest.mark.stores("postgres")  # the stores its tests start or use


async def test_saga_compensation_keeps_inventory_consistent_under_concurrency() -> None:
    data = orders(3, 160, product=6, customer=20)
    stores = await connect(shared_settings(), ["postgres"], f"sbx_t{secrets.token_hex(3)}", data)
    try:
        pg = stores["postgres"].store
        await pg.prepare(data)
        # Scarce stock, so concurrent sagas fight over the last units and some must be compensated.
        async with pg.transaction() as tx:
            await tx.execute(f'UPDATE "{pg.namespace}".products SET inventory_count = 25')
        saga = Saga(stores, StrategyOptions(seed=3, payment_failure_rate=0.2, source="postgres"), data.model)
        await saga.start()
        try:
            sem = asyncio.Semaphore(16)

            async def place(i: int) -> None:
                async with sem:
                    final = await saga.place(data.root(i), i)
                    assert final is not None and final["version"] == 2
                    assert final["status"] in ("confirmed", "cancelled")

            await asyncio.gather(*(place(i) for i in range(data.count)))
            check = await saga.verify()
        finally:
            await saga.stop()
        assert saga.outcomes["confirmed"] > 0
        assert saga.outcomes[f"cancelled: {OUT_OF_STOCK}"] > 0, saga.outcomes
        assert saga.outcomes[f"cancelled: {DECLINED}"] > 0, saga.outcomes
        assert check["inventory_consistent"], check
        assert check["negative_inventory"] == 0 and check["sagas_unfinished"] == 0
        stock = [p["inventory_count"] async for p in pg.scan("product")]
        assert min(stock) >= 0
        assert 25 * 6 - sum(stock) == check["units_confirmed"]
        # What the saga left in the source is what it told its clients: every order confirmed or cancelled at 2.
        held = [o async for o in pg.scan("order")]
        assert len(held) == data.count and {(o["status"], o["version"]) for o in held} == \
            {("confirmed", 2), ("cancelled", 2)}
    finally:
        await drop(stores)
