"""The services and the saga they run through events (docs/events.md).

order service (its ModelStore + outbox): places an order (pending) with `order.placed`; on `payment.processed`
  confirms it (`order.confirmed`) or cancels it (`order.cancelled`); on `inventory.rejected` cancels it.
inventory service (its own store): on `order.placed` reserves the items' stock or rejects the order
  (`inventory.reserved` / `inventory.rejected`); on `order.cancelled` releases a reservation
  (`inventory.released`, the compensation).
payment service (no store: its decision is a function of the order): on `inventory.reserved` charges
  (`payment.processed`, ok or failed: every `payment_fail_every`-th order fails).
read model (its own store): on `order.confirmed` adds the order's total to its customer's revenue.

Every handler is idempotent on a redelivery: reservations are keyed by order, transitions apply only over an
older version (so a repeat writes no second event), payment decides the same way twice, and the read model skips
an event id it has applied (unless idempotent=False, to show what a duplicate then costs). Events a service
publishes after its own commit (inventory, payment) are published again when their trigger is redelivered, under
the same id: duplicates the next consumer must absorb.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sandbox.measure.event_ledger import now
from sandbox.stores.events import Broker, Event, Inventory, Outbox, ReadModel
from sandbox.workload.dataset import Dataset, Instance

# topic -> the groups (services) reading it
SUBSCRIPTIONS: dict[str, tuple[str, ...]] = {
    "orders": ("inventory", "read-model"),
    "inventory": ("payment", "orders"),
    "payments": ("orders",),
}
ORDER_STATES = ("pending", "confirmed", "cancelled")


def event_id(kind: str, key: str, seq: int) -> str:
    """The same event, the same id: a republish is recognisable as a duplicate."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"sandbox-event:{kind}:{key}:{seq}"))


def new_event(kind: str, key: str, seq: int, data: Mapping[str, Any]) -> Event:
    return Event(event_id(kind, key, seq), kind, key, seq, dict(data))


class PoisonMessage(Exception):
    """A handler that cannot process this event however often it comes (a malformed payload, a bug)."""


@dataclass
class SagaRules:
    payment_fail_every: int = 7  # every N-th order's payment fails (0: none): the compensation path
    poison_every: int = 0  # every N-th order.placed cannot be handled by inventory (0: none): dead letters
    idempotent: bool = True  # the read model skips an event id it has applied

    def payment_fails(self, index: int) -> bool:
        return self.payment_fail_every > 0 and index % self.payment_fail_every == self.payment_fail_every - 1

    def poisoned(self, index: int) -> bool:
        return self.poison_every > 0 and index % self.poison_every == self.poison_every // 2


Handler = Callable[[Event], Awaitable[None]]


class Services:
    """The four services' handlers over the stores they own and the broker they share."""

    def __init__(self, data: Dataset, outbox: Outbox, inventory: Inventory, read_model: ReadModel, broker: Broker,
                 rules: SagaRules, publish: Callable[[str, Event], Awaitable[None]]):
        self.data, self.model = data, data.model
        self.outbox, self.inventory, self.read_model = outbox, inventory, read_model
        self.broker, self.rules, self.publish = broker, rules, publish
        self.patterns = self.model.patterns
        self.key = self.model.root_entity.key
        version = self.model.root_entity.version_field
        assert version is not None  # the orders model's (the step refuses other models)
        self.version = version.name

    # -- order service -------------------------------------------------------------------------------------
    async def place(self, instance: Instance, index: int) -> None:
        order = {**instance, "status": "pending", self.version: 1}
        lines = [[str(i["product_id"]), int(i["quantity"])] for i in order.get("items", [])]
        data = {"index": index, "customer": str(order["customer_id"]), "total": str(order["total_amount"]),
                "lines": lines, "poison": self.rules.poisoned(index)}
        await self.outbox.write_with_events(order, [new_event("order.placed", str(order[self.key]), 1, data)])

    async def _settle_order(self, key: str, pattern: str, kind: str, data: Mapping[str, Any]) -> None:
        """pay (pending -> confirmed) or cancel (the model's transitions): the order written again at version 2,
        applied only over an older version, so exactly one of them applies, once, and only it writes its event."""
        p = self.patterns[pattern]
        order = {**self.data.root(int(data["index"])), p.field or "status": p.to, self.version: 2}
        await self.outbox.write_with_events(order, [new_event(kind, key, 2, data)], version=2)

    async def on_inventory_for_orders(self, event: Event) -> None:
        if event.type == "inventory.rejected":
            await self._settle_order(event.key, "cancel", "order.cancelled", {**event.data, "why": "rejected"})

    async def on_payment_for_orders(self, event: Event) -> None:
        if event.data.get("ok"):
            await self._settle_order(event.key, "pay", "order.confirmed", event.data)
        else:
            await self._settle_order(event.key, "cancel", "order.cancelled", {**event.data, "why": "payment failed"})

    # -- inventory service ---------------------------------------------------------------------------------
    async def on_order_for_inventory(self, event: Event) -> None:
        if event.type == "order.placed":
            if event.data.get("poison"):
                raise PoisonMessage(f"order {event.key[:8]}: cannot be reserved (poison)")
            outcome = await self.inventory.reserve(event.key, [(p, int(q)) for p, q in event.data["lines"]])
            await self.publish("inventory", new_event(f"inventory.{outcome}", event.key, 1, event.data))
        elif event.type == "order.cancelled" and await self.inventory.release(event.key):
            await self.publish("inventory", new_event("inventory.released", event.key, 2, event.data))

    # -- payment service -----------------------------------------------------------------------------------
    async def on_inventory_for_payment(self, event: Event) -> None:
        if event.type == "inventory.reserved":
            ok = not self.rules.payment_fails(int(event.data["index"]))
            await self.publish("payments", new_event("payment.processed", event.key, 1, {**event.data, "ok": ok}))

    # -- read model ----------------------------------------------------------------------------------------
    async def on_order_for_read_model(self, event: Event) -> None:
        if event.type == "order.confirmed":
            await self.read_model.apply(event.id, str(event.data["customer"]), Decimal(str(event.data["total"])),
                                        self.rules.idempotent)

    def handlers(self) -> dict[tuple[str, str], Handler]:
        return {("orders", "inventory"): self.on_order_for_inventory,
                ("orders", "read-model"): self.on_order_for_read_model,
                ("inventory", "payment"): self.on_inventory_for_payment,
                ("inventory", "orders"): self.on_inventory_for_orders,
                ("payments", "orders"): self.on_payment_for_orders}


def stamped(event: Event) -> Event:
    """An event as its publisher sends it: with the time it was sent (the hops from a commit are measured on the
    order service's events, which carry their commit and capture times)."""
    return event.at(publish=now())
