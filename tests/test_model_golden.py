"""The orders model through the model engine gives the hand-written generator's orders (tests/golden/orders.json).

The golden file holds values (money at its scale, times in ISO form) captured from the hand-written
generator before the engine replaced it (by tests/golden/capture_orders.py, deleted with the generator; both
are in commit 04c2471); the engine's instances are projected onto that generator's fields.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from sandbox.workload.dataset import Dataset, Sizes, instance_json, plain
from sandbox.workload.model_file import load

GOLDEN = json.loads((Path(__file__).parent / "golden" / "orders.json").read_text())
MODEL = Path(__file__).parent.parent / "models" / "orders.toml"
ORDER_FIELDS = ("billing_address_id", "created_at", "customer_id", "customer_segment", "id", "order_number",
                "shipping_address_id", "shipping_amount", "status", "subtotal", "tax_amount")
ITEM_FIELDS = ("product_id", "product_sku", "product_name", "quantity", "unit_price")
CATALOG_FIELDS = {"category": ("id", "parent_id", "name", "slug"),
                  "product": ("id", "sku", "name", "category_id", "base_price", "inventory_count"),
                  "customer": ("id", "email", "first_name", "last_name", "segment")}
ADDRESS_FIELDS = ("id", "customer_id", "address_type", "street_line1", "city", "postal_code", "country_code")
SMALL = {"customer": 37, "product": 11, "category": 5}


def order_view(o: dict[str, Any]) -> dict[str, Any]:
    return {**{k: plain(o[k]) for k in ORDER_FIELDS},
            "items": [{k: plain(i[k]) for k in ITEM_FIELDS} for i in o["items"]]}


def catalog_view(entity: str, x: dict[str, Any]) -> dict[str, Any]:
    view = {k: plain(x[k]) for k in CATALOG_FIELDS[entity]}
    if entity == "customer":
        view["addresses"] = [{k: plain(a[k]) for k in ADDRESS_FIELDS} for a in x["addresses"]]
    return view


def digest(docs: Any) -> str:
    text = "\n".join(json.dumps(d, sort_keys=True, separators=(",", ":")) for d in docs)
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture(scope="module")
def orders_model():  # type: ignore[no-untyped-def]
    return load(MODEL)


@pytest.mark.parametrize("key", list(GOLDEN["orders"]))
def test_single_orders_are_the_hand_written_generators(orders_model, key: str) -> None:  # type: ignore[no-untyped-def]
    seed, index = map(int, key.split(":"))
    ds = Dataset(orders_model, seed, Sizes(index + 1, SMALL if seed == 5 else None))
    assert order_view(ds.root(index)) == GOLDEN["orders"][key]


@pytest.mark.parametrize("key", list(GOLDEN["streams"]))
def test_streams_are_the_hand_written_generators(orders_model, key: str) -> None:  # type: ignore[no-untyped-def]
    seed, n = map(int, key.split(":"))
    assert digest(order_view(o) for o in Dataset(orders_model, seed, Sizes(n)).roots()) == GOLDEN["streams"][key]


@pytest.mark.parametrize("seed", list(GOLDEN["catalogs"]))
def test_catalogs_are_the_hand_written_generators(orders_model, seed: str) -> None:  # type: ignore[no-untyped-def]
    want = GOLDEN["catalogs"][seed]
    sizes = {"customer": want["sizes"].get("customers", 500), "product": want["sizes"].get("products", 200),
             "category": want["sizes"].get("categories", 12)}
    ref = Dataset(orders_model, int(seed), Sizes(1, sizes)).reference
    for entity in CATALOG_FIELDS:
        views = [catalog_view(entity, x) for x in ref[entity]]
        assert digest(views) == want[entity], entity
        assert views[0] == want["first"][entity] and views[-1] == want["last"][entity]


def test_exact_money_totals_per_status_are_the_hand_written_generators(orders_model) -> None:  # type: ignore[no-untyped-def]
    for key, want in GOLDEN["totals"].items():
        seed, n = map(int, key.split(":"))
        totals: dict[str, list] = {}
        for o in Dataset(orders_model, seed, Sizes(n)).roots():
            count, revenue = totals.get(o["status"], [0, 0])
            totals[o["status"]] = [count + 1, revenue + o["total_amount"]]
        assert {s: [c, f"{r:.2f}"] for s, (c, r) in sorted(totals.items())} == want


def test_derived_fields_hold_their_invariants(orders_model) -> None:  # type: ignore[no-untyped-def]
    for o in Dataset(orders_model, 9, Sizes(300)).roots():
        assert o["total_amount"] == o["subtotal"] + o["tax_amount"] + o["shipping_amount"]
        assert o["item_count"] == len(o["items"]) and all(i["order_id"] == o["id"] for i in o["items"])
        assert all(i["total_price"] == i["quantity"] * i["unit_price"] for i in o["items"])
        assert len({i["product_id"] for i in o["items"]}) == len(o["items"])  # distinct within an order


def test_the_same_seed_gives_the_same_bytes_in_another_process() -> None:
    """Across processes (another hash seed) and so across machines: nothing depends on hash order or time."""
    script = ("import hashlib,sys; from pathlib import Path; from sandbox.workload.model_file import load; "
              "from sandbox.workload.dataset import Dataset, Sizes, instance_json; "
              f"ds = Dataset(load(Path({str(MODEL)!r})), 123, Sizes(500)); "
              "print(hashlib.sha256('\\n'.join(instance_json(o) for o in ds.roots()).encode()).hexdigest())")
    digests = {subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                              env={"PYTHONHASHSEED": str(h), "PATH": "/usr/bin:/bin"}).stdout.strip()
               for h in (1, 2)}
    here = hashlib.sha256("\n".join(instance_json(o) for o in
                                    Dataset(load(MODEL), 123, Sizes(500)).roots()).encode()).hexdigest()
    assert digests == {here}
