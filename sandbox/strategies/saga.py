"""Order placement as an orchestrated saga, with compensation.

Steps, each its own local PostgreSQL transaction, recorded in the sagas table:
  1. place the order as pending;
  2. reserve inventory: decrement products.inventory_count for every item, in product-id order (so two
     sagas never wait on each other's rows crosswise); the column's CHECK (>= 0) refuses an oversell,
     which is what keeps inventory from going negative under any concurrency;
  3. process the payment: a stand-in payment service that declines a configurable, seeded share;
  4. confirm the order.
When step 2 fails nothing was reserved; when step 3 fails the compensation releases the reserved stock.
Either way the order is cancelled. The final state leaves PostgreSQL through the transactional outbox
(the same relay as the outbox strategy), so the other stores converge to it.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import replace
from typing import Any

import asyncpg

from sandbox.measure.timing import TimedStore
from sandbox.strategies.base import StrategyOptions
from sandbox.strategies.outbox import RelayedStrategy
from sandbox.workload.model import Order, OrderStatus

SAGA_DDL = """
CREATE TABLE {s}.payments (
    order_id UUID PRIMARY KEY REFERENCES {s}.orders(id),
    amount DECIMAL(10,2) NOT NULL CHECK (amount >= 0),
    status VARCHAR(20) NOT NULL CHECK (status IN ('captured', 'refunded')),
    created_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp());
CREATE TABLE {s}.sagas (
    order_id UUID PRIMARY KEY REFERENCES {s}.orders(id),
    state VARCHAR(30) NOT NULL,
    failed_step VARCHAR(30),
    reason TEXT,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp());
"""

OUT_OF_STOCK = "out of stock"
DECLINED = "payment declined"


class Saga(RelayedStrategy):
    name = "saga"
    tag = "sg"
    description = "reserve inventory, pay, confirm; compensation releases stock and cancels"

    def __init__(self, stores: dict[str, TimedStore], options: StrategyOptions):
        super().__init__(stores, options)
        self.s = f'"{self.pg.namespace}"'
        self.confirmed_qty: Counter[str] = Counter()  # product id -> units the client saw confirmed
        self.outcomes: Counter[str] = Counter()
        self.initial_stock: dict[str, int] = {}

    async def start(self) -> None:
        await self.pg.pool.execute(SAGA_DDL.format(s=self.s))
        self.initial_stock = await self._stock()
        await super().start()

    def declines(self, order: Order) -> bool:
        """The payment service's answer: seeded per order, so a rerun declines the same payments."""
        rng = random.Random(f"{self.options.seed}:payment:{order.id}")
        return rng.random() < self.options.payment_failure_rate

    async def place(self, order: Order, index: int) -> Order | None:
        ok, final = await self.pg_ts.call("saga", lambda: self.run_saga(order), (order.id,))
        if not ok or final is None:
            return None
        if final.status == OrderStatus.CONFIRMED:
            self.confirmed_qty.update({i.product_id: i.quantity for i in order.items})
        return final

    async def run_saga(self, order: Order) -> Order:
        s = self.s
        pending = replace(order, status=OrderStatus.PENDING)
        items = sorted(order.items, key=lambda i: i.product_id)
        async with self.pg.pool.acquire() as conn:
            async with conn.transaction():
                await self.pg.write_on(conn, pending)
                await conn.execute(f"INSERT INTO {s}.sagas (order_id, state) VALUES ($1, 'started')", order.id)
            try:
                async with conn.transaction():
                    await conn.executemany(f"UPDATE {s}.products SET inventory_count = inventory_count - $2 "
                                           "WHERE id = $1", [(i.product_id, i.quantity) for i in items])
                    await self._state(conn, order, "inventory_reserved")
            except asyncpg.CheckViolationError:
                return await self._cancel(conn, pending, "reserve_inventory", OUT_OF_STOCK, release=False)
            if self.declines(order):
                return await self._cancel(conn, pending, "process_payment", DECLINED, release=True)
            async with conn.transaction():
                await conn.execute(f"INSERT INTO {s}.payments (order_id, amount, status) VALUES ($1, $2, 'captured')",
                                   order.id, order.total_amount)
                await self._state(conn, order, "payment_processed")
            confirmed = replace(order, status=OrderStatus.CONFIRMED)
            async with conn.transaction():
                await conn.execute(f"UPDATE {s}.orders SET status = 'confirmed', version = 2 WHERE id = $1", order.id)
                await self._state(conn, order, "confirmed")
                await self.relay.enqueue(conn, confirmed, 2, "OrderConfirmed")
        self.outcomes["confirmed"] += 1
        return confirmed

    async def _cancel(self, conn: asyncpg.Connection, order: Order, step: str, reason: str, *, release: bool) -> Order:
        """The compensation: give back reserved stock (if any) and cancel, in one transaction."""
        cancelled = replace(order, status=OrderStatus.CANCELLED)
        async with conn.transaction():
            if release:
                await conn.executemany(f"UPDATE {self.s}.products SET inventory_count = inventory_count + $2 "
                                       "WHERE id = $1", [(i.product_id, i.quantity)
                                                         for i in sorted(order.items, key=lambda i: i.product_id)])
            await conn.execute(f"UPDATE {self.s}.orders SET status = 'cancelled', version = 2 WHERE id = $1", order.id)
            await self._state(conn, order, "compensated", step, reason)
            await self.relay.enqueue(conn, cancelled, 2, "OrderCancelled")
        self.outcomes[f"cancelled: {reason}"] += 1
        return cancelled

    async def _state(self, conn: asyncpg.Connection, order: Order, state: str, step: str | None = None,
                     reason: str | None = None) -> None:
        await conn.execute(f"UPDATE {self.s}.sagas SET state = $2, failed_step = $3, reason = $4, "
                           "updated_at = clock_timestamp() WHERE order_id = $1", order.id, state, step, reason)

    async def verify(self) -> dict[str, Any]:
        """Inventory = stock at start - confirmed quantities, per product, from the client's and the database's view."""
        stock = await self._stock()
        in_db = {r[0]: r[1] for r in await self.pg.pool.fetch(
            f"SELECT i.product_id::text, sum(i.quantity) FROM {self.s}.order_items i "
            f"JOIN {self.s}.orders o ON o.id = i.order_id WHERE o.status = 'confirmed' GROUP BY i.product_id")}
        stuck = await self.pg.pool.fetchval(
            f"SELECT count(*) FROM {self.s}.sagas WHERE state NOT IN ('confirmed', 'compensated')")
        wrong = [p for p, initial in self.initial_stock.items()
                 if stock.get(p) != initial - self.confirmed_qty[p] or in_db.get(p, 0) != self.confirmed_qty[p]]
        return {"inventory_consistent": not wrong, "products_off": len(wrong), "products_off_examples": wrong[:5],
                "negative_inventory": sum(1 for v in stock.values() if v < 0),
                "units_confirmed": sum(self.confirmed_qty.values()), "sagas_unfinished": stuck}

    async def _stock(self) -> dict[str, int]:
        rows = await self.pg.pool.fetch(f"SELECT id::text, inventory_count FROM {self.s}.products")
        return {r[0]: r[1] for r in rows}

    def details(self) -> dict[str, Any]:
        return {"outcomes": dict(self.outcomes), "payment_failure_rate": self.options.payment_failure_rate,
                **super().details()}
