"""The seeded order generator: deterministic, streaming, and faithful to the domain's money rules."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from decimal import ROUND_HALF_UP, Decimal

from sandbox.workload.generator import TAX_RATE, Workload, WorkloadSpec, order_to_json
from sandbox.workload.model import CENT, OrderStatus, Segment


def digest(seed: int, n: int) -> str:
    w = Workload(WorkloadSpec(seed=seed, orders=n))
    return hashlib.sha256("\n".join(order_to_json(o) for o in w.orders()).encode()).hexdigest()


def test_same_seed_same_orders_byte_for_byte_even_across_processes() -> None:
    here = digest(11, 300)
    assert here == digest(11, 300)
    # Another interpreter with another hash seed must produce the very same bytes.
    code = "from tests.test_generator import digest; print(digest(11, 300))"
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={"PYTHONHASHSEED": "12345", "PATH": ""}).stdout.strip()
    assert other == here


def test_different_seeds_differ() -> None:
    assert digest(1, 50) != digest(2, 50)


def test_any_order_can_be_regenerated_alone() -> None:
    w = Workload(WorkloadSpec(seed=5, orders=200))
    streamed = list(w.orders())
    assert [order_to_json(w.order(i)) for i in (0, 77, 199)] == [order_to_json(streamed[i]) for i in (0, 77, 199)]
    assert [o.id for o in w.orders(50, 60)] == [o.id for o in streamed[50:60]]


def test_money_rules_hold_for_every_order() -> None:
    w = Workload(WorkloadSpec(seed=9, orders=2000))
    for o in w.orders():
        assert o.items and all(i.quantity > 0 for i in o.items)
        assert all(i.total_price == i.quantity * i.unit_price for i in o.items)
        assert o.subtotal == sum((i.total_price for i in o.items), Decimal(0))
        assert o.tax_amount == (o.subtotal * TAX_RATE).quantize(CENT, rounding=ROUND_HALF_UP)  # 47.025 -> 47.03
        assert o.total_amount == o.subtotal + o.tax_amount + o.shipping_amount
        for amount in (o.subtotal, o.tax_amount, o.shipping_amount, o.total_amount):
            assert isinstance(amount, Decimal) and amount == amount.quantize(CENT)


def test_ids_numbers_and_timestamps_are_unique_and_ordered() -> None:
    orders = list(Workload(WorkloadSpec(seed=3, orders=3000)).orders())
    assert len({o.id for o in orders}) == len(orders)
    assert len({o.order_number for o in orders}) == len(orders)
    times = [o.created_at for o in orders]
    assert times == sorted(times) and len(set(times)) == len(times)  # InfluxDB keys points on time
    assert all(t.microsecond % 1000 == 0 for t in times)


def test_statuses_and_segments_all_occur() -> None:
    orders = list(Workload(WorkloadSpec(seed=4, orders=3000)).orders())
    assert {o.status for o in orders} == set(OrderStatus)
    assert {o.customer_segment for o in orders} == set(Segment)


def test_catalog_references_are_consistent() -> None:
    w = Workload(WorkloadSpec(seed=8, orders=100))
    customers = {c.id: c for c in w.catalog.customers}
    products = {p.id: p for p in w.catalog.products}
    seen_categories: set[str] = set()
    for c in w.catalog.categories:  # parents come first: the PostgreSQL loader relies on it
        assert c.parent_id is None or c.parent_id in seen_categories
        seen_categories.add(c.id)
    for o in w.orders():
        customer = customers[o.customer_id]
        assert (o.billing_address_id, o.shipping_address_id) == (customer.billing_address.id,
                                                                  customer.shipping_address.id)
        assert o.customer_segment == customer.segment
        assert all(products[i.product_id].base_price == i.unit_price for i in o.items)


def test_every_nth_order_shards_cover_the_stream_once() -> None:
    w = Workload(WorkloadSpec(seed=6, orders=101))
    whole = [order_to_json(o) for o in w.orders()]
    shards = [[order_to_json(o) for o in w.orders(i, step=3)] for i in range(3)]
    assert sorted(j for shard in shards for j in shard) == sorted(whole)
    assert shards[1][:2] == [whole[1], whole[4]]
