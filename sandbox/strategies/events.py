"""Events and their JSON form, shared by the outbox, the event store and the saga.

An event carries data, not a pointer into the generator: the relay and the projections rebuild the root
instance from the payload alone (payload / from_payload: any model's root, typed by the model). The lifecycle
events and their fold are the orders model's: an order's status, step by step.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sandbox.workload.dataset import Instance, plain
from sandbox.workload.schema import Entity, Model

INITIATED = "OrderInitiated"
INVENTORY_RESERVED = "InventoryReserved"
PAYMENT_PROCESSED = "PaymentProcessed"
CONFIRMED = "OrderConfirmed"
FULFILMENT_ADVANCED = "FulfilmentAdvanced"  # processing, shipped, delivered
CANCELLED = "OrderCancelled"
REFUNDED = "OrderRefunded"

# The orders model's statuses (models/orders.toml, order.status), and the one each event leaves an order in
# (FULFILMENT_ADVANCED names its own).
PENDING, CONFIRMED_STATUS, CANCELLED_STATUS, REFUNDED_STATUS = "pending", "confirmed", "cancelled", "refunded"
FULFILMENT = ("processing", "shipped", "delivered")
STATUS_AFTER = {INITIATED: PENDING, INVENTORY_RESERVED: PENDING, PAYMENT_PROCESSED: PENDING,
                CONFIRMED: CONFIRMED_STATUS, CANCELLED: CANCELLED_STATUS, REFUNDED: REFUNDED_STATUS}
STATUS, TOTAL, VERSION = "status", "total_amount", "version"  # the order's fields the lifecycle reads and sets


@dataclass(frozen=True)
class Event:
    type: str
    data: dict[str, Any]

    def payload(self) -> str:
        return json.dumps(self.data, sort_keys=True, separators=(",", ":"))


def payload(instance: Mapping[str, Any]) -> dict[str, Any]:
    """A root instance as JSON values: money as text at its scale, times as ISO text, children as lists."""
    return {k: plain(v) for k, v in instance.items()}


def from_payload(model: Model, doc: Mapping[str, Any]) -> Instance:
    """The inverse of payload(), typed by the model's root: money back to Decimal, times back to datetime."""
    return _typed(model, model.root_entity, doc)


def _typed(model: Model, entity: Entity, doc: Mapping[str, Any]) -> Instance:
    out = dict(doc)
    for f in entity.fields:
        value = out.get(f.name)
        if value is None:
            continue
        if f.type.kind == "decimal":
            out[f.name] = Decimal(value)
        elif f.type.kind == "timestamp":
            out[f.name] = datetime.fromisoformat(value)
    for c in entity.children:
        if c.name in out:
            child = model.entity(c.entity)
            out[c.name] = [_typed(model, child, d) for d in out[c.name]]
    return out


def lifecycle(order: Mapping[str, Any]) -> list[Event]:
    """The events that bring a new order to the status the workload gives it.

    pending: initiated (+ reserved); confirmed and beyond: reserved, paid, confirmed, then fulfilment steps;
    cancelled: reserved then cancelled (stock released); refunded: paid, confirmed, refunded.
    """
    placed = {**order, STATUS: PENDING}
    events = [Event(INITIATED, payload(placed)), Event(INVENTORY_RESERVED, {})]
    target = order[STATUS]
    if target == PENDING:
        return events
    if target == CANCELLED_STATUS:
        return [*events, Event(CANCELLED, {"reason": "customer"})]
    events += [Event(PAYMENT_PROCESSED, {"amount": str(order[TOTAL])}), Event(CONFIRMED, {})]
    if target == REFUNDED_STATUS:
        return [*events, Event(REFUNDED, {"amount": str(order[TOTAL])})]
    for step in FULFILMENT[:FULFILMENT.index(target) + 1] if target in FULFILMENT else ():
        events.append(Event(FULFILMENT_ADVANCED, {"status": step}))
    return events


def fold(model: Model, events: Iterable[tuple[str, dict[str, Any]]]) -> Instance | None:
    """The order's state after its events, in version order (None before it was initiated): its status, and its
    version the stream's (the number of events folded), which is what the projections upsert it at."""
    state: Instance | None = None
    version = 0
    for kind, data in events:
        version += 1
        if kind == INITIATED:
            state = from_payload(model, data)
        elif state is not None:
            status = data["status"] if kind == FULFILMENT_ADVANCED else STATUS_AFTER.get(kind)
            if status is not None:
                state[STATUS] = status
    if state is not None:
        state[VERSION] = version
    return state
