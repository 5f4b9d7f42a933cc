"""A seeded, streaming order generator.

Every order is derived from (seed, index) alone, so the same seed gives the same orders byte
for byte, any order can be regenerated on its own (the checker does), and the stream never
holds the workload in memory.
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import cached_property
from typing import Any

from sandbox.workload.model import (
    CENT,
    Address,
    Catalog,
    Category,
    Customer,
    Order,
    OrderItem,
    OrderStatus,
    Product,
    Segment,
)

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
STATUS_WEIGHTS = {
    OrderStatus.PENDING: 15, OrderStatus.CONFIRMED: 20, OrderStatus.PROCESSING: 15, OrderStatus.SHIPPED: 20,
    OrderStatus.DELIVERED: 22, OrderStatus.CANCELLED: 5, OrderStatus.REFUNDED: 3,
}
SEGMENT_WEIGHTS = {Segment.STANDARD: 70, Segment.PREMIUM: 25, Segment.VIP: 5}
TAX_RATE = Decimal("0.0825")
FREE_SHIPPING_FROM = Decimal("100.00")
CITIES = ("Lisbon", "Austin", "Osaka", "Lyon", "Leeds", "Porto", "Denver", "Kyoto", "Graz", "Quebec")
WORDS = ("oak", "steel", "linen", "amber", "cobalt", "maple", "slate", "cedar", "ivory", "onyx")
KINDS = ("lamp", "chair", "mug", "desk", "shelf", "rug", "kettle", "clock", "vase", "bench")


@dataclass(frozen=True)
class WorkloadSpec:
    seed: int
    orders: int
    customers: int = 500
    products: int = 200
    categories: int = 12


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


class Workload:
    """The catalog plus an order stream for one seed."""

    def __init__(self, spec: WorkloadSpec):
        self.spec = spec

    @cached_property
    def catalog(self) -> Catalog:
        rng = random.Random(f"{self.spec.seed}:catalog")
        categories: list[Category] = []
        for i in range(self.spec.categories):
            parent = categories[rng.randrange(len(categories))].id if categories and i % 3 else None
            name = f"{WORDS[i % len(WORDS)].title()} {KINDS[i % len(KINDS)]}s {i}"
            categories.append(Category(_uuid(rng), parent, name, f"cat-{i}"))
        products = tuple(
            Product(_uuid(rng), f"SKU-{i:05d}", f"{rng.choice(WORDS).title()} {rng.choice(KINDS)}",
                    rng.choice(categories).id, Decimal(rng.randint(199, 24999)) / 100, rng.randint(50, 5000))
            for i in range(self.spec.products)
        )
        customers: list[Customer] = []
        segments, seg_weights = list(SEGMENT_WEIGHTS), list(SEGMENT_WEIGHTS.values())
        for i in range(self.spec.customers):
            cid = _uuid(rng)
            city = rng.choice(CITIES)
            billing = Address(_uuid(rng), cid, "billing", f"{rng.randint(1, 999)} Main St", city,
                              f"{rng.randint(10000, 99999)}", "PT")
            shipping = Address(_uuid(rng), cid, "shipping", f"{rng.randint(1, 999)} Side St", city,
                               f"{rng.randint(10000, 99999)}", "PT")
            customers.append(Customer(cid, f"customer{i}@example.com", rng.choice(WORDS).title(),
                                      rng.choice(KINDS).title(), rng.choices(segments, seg_weights)[0],
                                      billing, shipping))
        return Catalog(tuple(categories), products, tuple(customers))

    def order(self, index: int) -> Order:
        rng = random.Random(f"{self.spec.seed}:order:{index}")
        catalog = self.catalog
        customer = catalog.customers[rng.randrange(len(catalog.customers))]
        products = rng.sample(catalog.products, rng.randint(1, 5))
        items = tuple(OrderItem(p.id, p.sku, p.name, rng.randint(1, 4), p.base_price) for p in products)
        subtotal = sum((item.total_price for item in items), Decimal("0.00"))
        shipping = Decimal("0.00") if subtotal >= FREE_SHIPPING_FROM else Decimal("7.99")
        status = rng.choices(list(STATUS_WEIGHTS), list(STATUS_WEIGHTS.values()))[0]
        # 10 ms slots with jitter inside: ordered, millisecond-unique timestamps (InfluxDB keys on time).
        created = EPOCH + timedelta(milliseconds=index * 10 + rng.randrange(10))
        return Order(_uuid(rng), f"ORD-{self.spec.seed}-{index:09d}", customer.id, customer.segment,
                     customer.billing_address.id, customer.shipping_address.id, status, items,
                     subtotal, _money(subtotal * TAX_RATE), shipping, created)

    def orders(self, start: int = 0, stop: int | None = None) -> Iterator[Order]:
        for index in range(start, self.spec.orders if stop is None else stop):
            yield self.order(index)


def order_to_json(order: Order) -> str:
    """Canonical JSON of one order (sorted keys, money as strings): the byte-for-byte identity."""
    def plain(value: Any) -> Any:
        if isinstance(value, Decimal):
            return str(value)
        if isinstance(value, datetime):
            return value.isoformat(timespec="milliseconds")
        return value

    doc = {name: plain(getattr(order, name)) for name in order.__dataclass_fields__ if name != "items"}
    doc["items"] = [{name: plain(getattr(item, name)) for name in item.__dataclass_fields__}
                    for item in order.items]
    return json.dumps(doc, sort_keys=True, separators=(",", ":"))
