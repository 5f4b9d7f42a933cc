"""Order placement as an orchestrated saga, with compensation (the orders model).

Steps, each its own local transaction in the source of truth (PostgreSQL), recorded in the sagas table:
  1. place the order as pending (the model store writes it inside the transaction that records the saga);
  2. reserve inventory: the model's decrement pattern `take_stock` (store.answer: every item's product by its
     quantity, all or none, never below its floor of 0, targets locked in key order so two sagas never wait
     on each other crosswise), then the saga's state;
  3. process the payment: a stand-in payment service that declines a configurable, seeded share;
  4. confirm the order: its version-gated upsert at version 2, the saga's state and the outbox row, in one
     transaction.
When step 2 refuses nothing was reserved; when step 3 fails the compensation gives the stock back (the same
pattern with the amounts negated: all or none, the exact inverse of the reservation), then cancels the order
in one transaction with its saga state and outbox row. Either way the order is cancelled. The final state
leaves the source through the transactional outbox (the same relay as the outbox strategy), so the other
stores converge to it.

A crash between a stock step and the saga's next transaction leaves the saga unfinished (counted by verify());
the give-back comes before the cancellation, so a crash between them never leaves stock taken by a cancelled
order.
"""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

from sandbox.errors import UsageError
from sandbox.measure.timing import TimedStore
from sandbox.stores.contract import Answerer, NotAnswerable, Params
from sandbox.strategies.base import StrategyOptions
from sandbox.strategies.events import CANCELLED_STATUS, CONFIRMED_STATUS, PENDING, STATUS, TOTAL, VERSION
from sandbox.strategies.outbox import RelayedStrategy
from sandbox.workload.dataset import Instance
from sandbox.workload.schema import Model, Pattern

# The saga's own tables, beside the orders model's (`sandbox model show orders --store postgres`: orders (id)).
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

STOCK = "take_stock"  # the orders model's decrement pattern: product.inventory_count by items.quantity
OUT_OF_STOCK = "out of stock"
DECLINED = "payment declined"


class Saga(RelayedStrategy):
    name = "saga"
    tag = "sg"
    description = "reserve inventory, pay, confirm; compensation releases stock and cancels"
    needs_model = "orders"

    def __init__(self, stores: dict[str, TimedStore], options: StrategyOptions, model: Model):
        super().__init__(stores, options, model)
        self.s = self.relay.schema
        self.stock = model.patterns[STOCK]
        self.confirmed_qty: Counter[Any] = Counter()  # product key -> units the client saw confirmed
        self.outcomes: Counter[str] = Counter()
        self.initial_stock: dict[Any, int] = {}
        self._take: Answerer | None = None

    async def start(self) -> None:
        take = self.source_ts.store.answer(self.stock)
        if isinstance(take, NotAnswerable):
            raise UsageError(f"saga: {self.source_ts.name} cannot answer {STOCK}: {take.reason}")
        self._take = take
        async with self.source.transaction() as tx:
            await tx.execute(SAGA_DDL.format(s=self.s))
        self.initial_stock = await self._stock()
        await super().start()

    def declines(self, order: Instance) -> bool:
        """The payment service's answer: seeded per order, so a rerun declines the same payments."""
        rng = random.Random(f"{self.options.seed}:payment:{order[self.key]}")
        return rng.random() < self.options.payment_failure_rate

    async def place(self, instance: Instance, index: int) -> Instance | None:
        ok, final = await self.source_ts.call("saga", lambda: self.run_saga(instance), (str(instance[self.key]),))
        if not ok or final is None:
            return None
        if final[STATUS] == CONFIRMED_STATUS:
            self.confirmed_qty.update(dict(targets(self.stock, instance)))
        return final

    async def run_saga(self, order: Instance) -> Instance:
        assert self._take is not None, "start() first"
        s, key = self.s, order[self.key]
        pending = {**order, STATUS: PENDING}
        async with self.source.transaction() as tx:
            await self.source.write_in(tx, pending)
            await tx.execute(f"INSERT INTO {s}.sagas (order_id, state) VALUES ($1, 'started')", key)
        reserve = targets(self.stock, order)
        if not await self._take(Params(targets=reserve)):
            return await self._cancel(pending, "reserve_inventory", OUT_OF_STOCK, release=())
        async with self.source.transaction() as tx:
            await self._state(tx, key, "inventory_reserved")
        if self.declines(order):
            return await self._cancel(pending, "process_payment", DECLINED, release=reserve)
        async with self.source.transaction() as tx:
            await tx.execute(f"INSERT INTO {s}.payments (order_id, amount, status) VALUES ($1, $2, 'captured')",
                             key, order[TOTAL])
            await self._state(tx, key, "payment_processed")
        confirmed = {**order, STATUS: CONFIRMED_STATUS, VERSION: 2}
        async with self.source.transaction() as tx:
            if not await self.source.write_in(tx, confirmed, 2):
                raise RuntimeError(f"order {key} was at version 2 already")  # rolls the confirmation back
            await self._state(tx, key, "confirmed")
            await self.relay.enqueue(tx, confirmed, 2, "OrderConfirmed")
        self.outcomes["confirmed"] += 1
        return confirmed

    async def _cancel(self, order: Instance, step: str, reason: str,
                      release: tuple[tuple[Any, int], ...]) -> Instance:
        """The compensation: give back the reserved stock (if any), then cancel, in one transaction."""
        assert self._take is not None
        key = order[self.key]
        if release and not await self._take(Params(targets=tuple((k, -n) for k, n in release))):
            raise RuntimeError(f"order {key}: the reserved stock could not be given back")
        cancelled = {**order, STATUS: CANCELLED_STATUS, VERSION: 2}
        async with self.source.transaction() as tx:
            if not await self.source.write_in(tx, cancelled, 2):
                raise RuntimeError(f"order {key} was at version 2 already")
            await self._state(tx, key, "compensated", step, reason)
            await self.relay.enqueue(tx, cancelled, 2, "OrderCancelled")
        self.outcomes[f"cancelled: {reason}"] += 1
        return cancelled

    async def _state(self, tx: Any, key: Any, state: str, step: str | None = None, reason: str | None = None) -> None:
        await tx.execute(f"UPDATE {self.s}.sagas SET state = $2, failed_step = $3, reason = $4, "
                         "updated_at = clock_timestamp() WHERE order_id = $1", key, state, step, reason)

    async def verify(self) -> dict[str, Any]:
        """Inventory = stock at start - confirmed quantities, per product, from the client's and the source's view
        (its products and its confirmed orders, read back through its model store)."""
        stock = await self._stock()
        in_db: Counter[Any] = Counter()
        async for order in self.source_ts.store.scan(self.model.root):
            if order[STATUS] == CONFIRMED_STATUS:
                in_db.update(dict(targets(self.stock, order)))
        async with self.source.transaction() as tx:
            stuck = await tx.fetchval(f"SELECT count(*) FROM {self.s}.sagas "
                                      "WHERE state NOT IN ('confirmed', 'compensated')")
        wrong = [p for p, initial in self.initial_stock.items()
                 if stock.get(p) != initial - self.confirmed_qty[p] or in_db[p] != self.confirmed_qty[p]]
        return {"inventory_consistent": not wrong, "products_off": len(wrong),
                "products_off_examples": [str(p) for p in wrong[:5]],
                "negative_inventory": sum(1 for v in stock.values() if v < self.stock.floor),
                "units_confirmed": sum(self.confirmed_qty.values()), "sagas_unfinished": stuck}

    async def _stock(self) -> dict[Any, int]:
        entity = self.model.entity(self.stock.entity)
        field = self.stock.field or ""
        return {p[entity.key]: p[field] async for p in self.source_ts.store.scan(entity.name)}

    def details(self) -> dict[str, Any]:
        return {"outcomes": dict(self.outcomes), "payment_failure_rate": self.options.payment_failure_rate,
                **super().details()}


def targets(p: Pattern, root: Instance) -> tuple[tuple[Any, int], ...]:
    """A decrement's (target key, amount) pairs taken from a root instance (an order's items: product, quantity),
    merged per target and in key order."""
    def values(path: str | None) -> list[Any]:
        if path is None:
            return []
        head, _, rest = path.partition(".")
        return [c[rest] for c in root[head]] if rest else [root[head]]
    keys = values(p.targets)
    merged: Counter[Any] = Counter()
    for k, n in zip(keys, values(p.by) or [p.amount] * len(keys), strict=True):
        merged[k] += n
    return tuple(sorted(merged.items(), key=lambda kv: str(kv[0])))
