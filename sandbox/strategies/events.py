"""Order lifecycle events and their JSON form, shared by the outbox, the event store and the saga.

An event carries data, not a pointer into the generator: the relay and the projections rebuild the
order from the payload alone.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from sandbox.workload.generator import order_to_json
from sandbox.workload.model import Order, OrderItem, OrderStatus, Segment

INITIATED = "OrderInitiated"
INVENTORY_RESERVED = "InventoryReserved"
PAYMENT_PROCESSED = "PaymentProcessed"
CONFIRMED = "OrderConfirmed"
FULFILMENT_ADVANCED = "FulfilmentAdvanced"  # processing, shipped, delivered
CANCELLED = "OrderCancelled"
REFUNDED = "OrderRefunded"

# The status each event leaves the order in (FULFILMENT_ADVANCED names its own).
STATUS_AFTER = {INITIATED: OrderStatus.PENDING, INVENTORY_RESERVED: OrderStatus.PENDING,
                PAYMENT_PROCESSED: OrderStatus.PENDING, CONFIRMED: OrderStatus.CONFIRMED,
                CANCELLED: OrderStatus.CANCELLED, REFUNDED: OrderStatus.REFUNDED}
FULFILMENT = (OrderStatus.PROCESSING, OrderStatus.SHIPPED, OrderStatus.DELIVERED)


@dataclass(frozen=True)
class Event:
    type: str
    data: dict[str, Any]

    def payload(self) -> str:
        return json.dumps(self.data, sort_keys=True, separators=(",", ":"))


def order_payload(order: Order) -> dict[str, Any]:
    return json.loads(order_to_json(order))


def order_from_payload(doc: dict[str, Any]) -> Order:
    """The inverse of order_to_json: money back to Decimal, times back to datetime."""
    items = tuple(OrderItem(i["product_id"], i["product_sku"], i["product_name"], int(i["quantity"]),
                            Decimal(i["unit_price"])) for i in doc["items"])
    return Order(doc["id"], doc["order_number"], doc["customer_id"], Segment(doc["customer_segment"]),
                 doc["billing_address_id"], doc["shipping_address_id"], OrderStatus(doc["status"]), items,
                 Decimal(doc["subtotal"]), Decimal(doc["tax_amount"]), Decimal(doc["shipping_amount"]),
                 datetime.fromisoformat(doc["created_at"]))


def lifecycle(order: Order) -> list[Event]:
    """The events that bring a new order to the status the workload gives it.

    pending: initiated (+ reserved); confirmed and beyond: reserved, paid, confirmed, then fulfilment steps;
    cancelled: reserved then cancelled (stock released); refunded: paid, confirmed, refunded.
    """
    placed = replace(order, status=OrderStatus.PENDING)
    events = [Event(INITIATED, order_payload(placed)), Event(INVENTORY_RESERVED, {})]
    target = order.status
    if target == OrderStatus.PENDING:
        return events
    if target == OrderStatus.CANCELLED:
        return [*events, Event(CANCELLED, {"reason": "customer"})]
    events += [Event(PAYMENT_PROCESSED, {"amount": str(order.total_amount)}), Event(CONFIRMED, {})]
    if target == OrderStatus.REFUNDED:
        return [*events, Event(REFUNDED, {"amount": str(order.total_amount)})]
    for step in FULFILMENT[:FULFILMENT.index(target) + 1] if target in FULFILMENT else ():
        events.append(Event(FULFILMENT_ADVANCED, {"status": step.value}))
    return events


def fold(events: Iterable[tuple[str, dict[str, Any]]]) -> Order | None:
    """The order's state after its events, in version order (None before it was initiated)."""
    state: Order | None = None
    for kind, data in events:
        if kind == INITIATED:
            state = order_from_payload(data)
        elif state is not None:
            status = OrderStatus(data["status"]) if kind == FULFILMENT_ADVANCED else STATUS_AFTER.get(kind)
            if status is not None:
                state = replace(state, status=status)
    return state
