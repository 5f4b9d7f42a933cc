"""Saga compensation under concurrency: stock never negative, inventory = initial - confirmed."""

from __future__ import annotations

import asyncio
import secrets

import pytest

from sandbox.strategies.base import StrategyOptions
from sandbox.strategies.saga import DECLINED, OUT_OF_STOCK, Saga
from sandbox.workload.generator import Workload, WorkloadSpec
from tests.helpers import connect, drop, shared_settings

pytestmark = pytest.mark.stores("postgres")  # the stores its tests start or use

async def test_saga_compensation_keeps_inventory_consistent_under_concurrency() -> None:
    workload = Workload(WorkloadSpec(3, 160, products=6))
    stores = await connect(shared_settings(), ["postgres"], f"sbx_t{secrets.token_hex(3)}")
    try:
        pg = stores["postgres"].store
        await pg.prepare(workload.catalog)
        # Scarce stock, so concurrent sagas fight over the last units and some must be compensated.
        await pg.pool.execute(f'UPDATE "{pg.namespace}".products SET inventory_count = 25')  # type: ignore[attr-defined]
        saga = Saga(stores, StrategyOptions(seed=3, payment_failure_rate=0.2, source="postgres"))
        await saga.start()
        try:
            sem = asyncio.Semaphore(16)

            async def place(i: int) -> None:
                async with sem:
                    assert await saga.place(workload.order(i), i) is not None

            await asyncio.gather(*(place(i) for i in range(workload.spec.orders)))
            check = await saga.verify()
        finally:
            await saga.stop()
        assert saga.outcomes["confirmed"] > 0
        assert saga.outcomes[f"cancelled: {OUT_OF_STOCK}"] > 0, saga.outcomes
        assert saga.outcomes[f"cancelled: {DECLINED}"] > 0, saga.outcomes
        assert check["inventory_consistent"], check
        assert check["negative_inventory"] == 0 and check["sagas_unfinished"] == 0
        stock = await pg.pool.fetch(f'SELECT inventory_count FROM "{pg.namespace}".products')  # type: ignore[attr-defined]
        assert min(r[0] for r in stock) >= 0
        assert 25 * 6 - sum(r[0] for r in stock) == check["units_confirmed"]
    finally:
        await drop(stores)
