"""A seeded, streaming order generator.

Every order is derived from (seed, index) alone, so the same seed gives the same orders byte
for byte, any order can be regenerated on its own (the checker does), and the stream never
holds the workload in memory.
"""

from __future__ import annotations

import _random
import json
import random
from bisect import bisect
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import cached_property
from hashlib import sha512
from itertools import accumulate
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
STATUSES = tuple(STATUS_WEIGHTS)
STATUS_CUMULATIVE = tuple(accumulate(STATUS_WEIGHTS.values()))
STATUS_TOTAL = STATUS_CUMULATIVE[-1] + 0.0  # what random.choices multiplies random() by
SEGMENT_WEIGHTS = {Segment.STANDARD: 70, Segment.PREMIUM: 25, Segment.VIP: 5}
TAX_RATE = Decimal("0.0825")
ZERO = Decimal("0.00")
FREE_SHIPPING_FROM = Decimal("100.00")
FLAT_SHIPPING = Decimal("7.99")
CITIES = ("Lisbon", "Austin", "Osaka", "Lyon", "Leeds", "Porto", "Denver", "Kyoto", "Graz", "Quebec")
WORDS = ("oak", "steel", "linen", "amber", "cobalt", "maple", "slate", "cedar", "ivory", "onyx")
_UUID_VERSION_MASK = (0xC000 << 48) | (0xF000 << 64)  # where uuid.UUID(version=4) writes variant and version
_UUID_VERSION_4 = (0x8000 << 48) | (4 << 76)
KINDS = ("lamp", "chair", "mug", "desk", "shelf", "rug", "kettle", "clock", "vase", "bench")


@dataclass(frozen=True)
class WorkloadSpec:
    seed: int
    orders: int
    customers: int = 500
    products: int = 200
    categories: int = 12
    spacing_ms: int = 10  # order i is created in [i * spacing_ms, i * spacing_ms + 10) ms after EPOCH


def _uuid(rng: random.Random) -> str:
    """str(uuid.UUID(int=rng.getrandbits(128), version=4)), without the UUID object's cost."""
    h = (rng.getrandbits(128) & ~_UUID_VERSION_MASK | _UUID_VERSION_4).to_bytes(16).hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _seed(rng: random.Random, text: str) -> None:
    """rng.seed(text): the integer random.Random.seed derives from a string (its bytes followed by their
    SHA-512, read big-endian), handed straight to the C seeding; skips the Python-level seed()'s checks
    (~1 us of the ~4 us a seed costs; the rest is MT19937's own init_by_array). gauss() keeps no state
    here: the generator never calls it."""
    key = text.encode()
    _random.Random.seed(rng, int.from_bytes(key + sha512(key).digest()))  # MT19937's init_by_array


def _below(getrandbits: Callable[[int], int], n: int) -> int:
    """random.Random._randbelow (under randrange, randint and sample): the same bits, the same value."""
    k = n.bit_length()
    r = getrandbits(k)
    while r >= n:
        r = getrandbits(k)
    return r


def _sample(rng: random.Random, n: int, k: int) -> list[int]:
    """random.Random.sample(range(n), k): its set-based branch (small k, n above 21) inlined, same draws."""
    if k > 5 or n <= 21:  # the other branches of random.sample
        return rng.sample(range(n), k)
    bits = rng.getrandbits
    chosen: list[int] = []
    for _ in range(k):
        j = _below(bits, n)
        while j in chosen:
            j = _below(bits, n)
        chosen.append(j)
    return chosen


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

    @cached_property
    def _lines(self) -> tuple[tuple[tuple[OrderItem, Decimal], ...], ...]:
        """Every line an order can hold, (item, line total) per product and quantity 1-4: frozen, so shared."""
        return tuple(tuple((item, item.total_price) for item in
                           (OrderItem(p.id, p.sku, p.name, quantity, p.base_price) for quantity in range(1, 5)))
                     for p in self.catalog.products)

    def order(self, index: int) -> Order:
        rng = random.Random()
        _seed(rng, f"{self.spec.seed}:order:{index}")
        return self._order(rng, index)

    def orders(self, start: int = 0, stop: int | None = None, step: int = 1) -> Iterator[Order]:
        """Orders start, start + step, ... below stop (default: the whole stream); a load worker i of N
        takes orders(i, step=N), so N workers together write the stream once."""
        rng = random.Random()  # re-seeded per order below: reusing it saves building one per order
        seed = self.spec.seed
        for index in range(start, self.spec.orders if stop is None else stop, step):
            _seed(rng, f"{seed}:order:{index}")
            yield self._order(rng, index)

    def _order(self, rng: random.Random, index: int) -> Order:
        # These draws are the ones random.Random's randrange/randint/sample/choices made when this was
        # written with them, in the same order from the same seed: the same bits give the same order byte
        # for byte (tests/test_generator_golden.py), at a fraction of the cost (docs/measurement.md).
        bits = rng.getrandbits
        customers, lines = self.catalog.customers, self._lines
        customer = customers[_below(bits, len(customers))]
        chosen = [lines[j][_below(bits, 4)] for j in _sample(rng, len(lines), 1 + _below(bits, 5))]
        subtotal = sum([total for _, total in chosen], ZERO)
        shipping = ZERO if subtotal >= FREE_SHIPPING_FROM else FLAT_SHIPPING
        status = STATUSES[bisect(STATUS_CUMULATIVE, rng.random() * STATUS_TOTAL, 0, len(STATUSES) - 1)]
        # Slots of spacing_ms (>= 10) with jitter inside the first 10 ms: ordered, millisecond-unique
        # timestamps (InfluxDB keys on time).
        created = EPOCH + timedelta(0, 0, 0, index * self.spec.spacing_ms + _below(bits, 10))  # milliseconds
        return Order(_uuid(rng), f"ORD-{self.spec.seed}-{index:09d}", customer.id, customer.segment,
                     customer.billing_address.id, customer.shipping_address.id, status,
                     tuple([item for item, _ in chosen]), subtotal,
                     (subtotal * TAX_RATE).quantize(CENT, rounding=ROUND_HALF_UP), shipping, created)


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
