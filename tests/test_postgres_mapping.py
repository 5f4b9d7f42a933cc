"""PostgreSQL's derived designs of the shipped models (sandbox/stores/postgres/mapping.py, jsonb_mapping.py),
without a server: names, keys, foreign keys, constraints, indexes per pattern, and the statements built on
them. The normalized design of orders is held to today's hand-written schema (stores/postgres/adapter.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sandbox.config import Endpoint
from sandbox.errors import UsageError
from sandbox.stores.contract import BatchWrite, NotAnswerable, Upsert
from sandbox.stores.postgres.designs import make_model_store
from sandbox.stores.postgres.jsonb_mapping import JsonbDesign
from sandbox.stores.postgres.mapping import derive
from sandbox.stores.postgres.naming import ident
from sandbox.stores.postgres.rows import Rows
from sandbox.workload.model_file import load

MODELS = Path(__file__).parent.parent / "models"
NS = "sbx_t"

EDGE = '''
name = "edge"
[entity.user]
role = "reference"
count = 5
[entity.user.fields]
id = { type = "keyword", gen = "template", template = "u{index}" }
order = { type = "int", gen = "sequence" }
[entity.note]
role = "root"
[entity.note.fields]
id = { type = "id", gen = "uuid" }
reply_to = { ref = "note", pick = "earlier", null_every = 2 }
user = { ref = "user" }
parts = { children = "part", count = 2 }
[pattern.busy_notes]
kind = "range"
where = ["user"]
filter = "count(parts) > 1"
[entity.part]
role = "child"
[entity.part.fields]
note_id = { parent = true }
position = { type = "int", gen = "uniform", min = 1, max = 3 }
'''


def model(name: str):  # type: ignore[no-untyped-def]
    return load(MODELS / f"{name}.toml")


def fks(table) -> list[str]:  # type: ignore[no-untyped-def]
    return [c for c in table.constraints if c.startswith("FOREIGN KEY")]


def addresses_default(d) -> str | None:  # type: ignore[no-untyped-def]
    return d.table("address").column("country_code").default  # type: ignore[no-any-return]


def test_orders_comes_out_as_todays_schema() -> None:
    d = derive(model("orders"), NS)
    assert [t.plain for t in d.tables.values()] == ["categories", "products", "customers", "addresses", "orders",
                                                   "order_items"]
    orders, items, addresses = d.table("order"), d.table("order_item"), d.table("address")
    assert orders.key == ("id",) and orders.column("id").type.sql == "uuid"
    assert orders.column("status").type.sql == f"{NS}.order_status"
    assert dict(d.enums)[f"{NS}.order_status"] == ("pending", "confirmed", "processing", "shipped", "delivered",
                                                   "cancelled", "refunded")
    assert orders.column("customer_segment").type.enum == f"{NS}.customer_segment"  # a copy shares its source's
    assert {c.name: c.type.sql for c in orders.columns if c.name.endswith("amount") or c.name == "subtotal"} == \
        dict.fromkeys(("subtotal", "tax_amount", "shipping_amount", "total_amount"), "numeric(10, 2)")
    assert orders.column("created_at").type.sql == "timestamptz"
    assert orders.column("version").default == "1" and addresses_default(d) == "'PT'"  # constants: DEFAULTs
    assert fks(orders) == [f"FOREIGN KEY (customer_id) REFERENCES {NS}.customers (id)",
                           f"FOREIGN KEY (billing_address_id) REFERENCES {NS}.addresses (id)",
                           f"FOREIGN KEY (shipping_address_id) REFERENCES {NS}.addresses (id)"]
    assert "UNIQUE (order_number)" in orders.constraints
    checks = [c for c in orders.constraints if c.startswith("CONSTRAINT")]
    assert checks == ["CONSTRAINT tax_amount_derived CHECK (tax_amount = round((subtotal * 0.0825), 2))",
                      "CONSTRAINT shipping_amount_derived CHECK (shipping_amount = (CASE WHEN (subtotal >= 100.00) "
                      "THEN 0.00 ELSE 7.99 END))",
                      "CONSTRAINT total_amount_derived CHECK (total_amount = ((subtotal + tax_amount) + "
                      "shipping_amount))"]  # subtotal and item_count read the items: no CHECK can
    assert items.key == ("order_id", "position") and (items.owner, items.collection) == ("order", "items")
    assert fks(items) == [f"FOREIGN KEY (order_id) REFERENCES {NS}.orders (id) ON DELETE CASCADE",
                          f"FOREIGN KEY (product_id) REFERENCES {NS}.products (id)"]
    assert "UNIQUE (order_id, product_id)" in items.constraints  # distinct = "product_id"
    assert "CONSTRAINT quantity_positive CHECK ((quantity > 0))" in items.constraints
    assert addresses.key == ("id",) and "UNIQUE (customer_id, position)" in addresses.constraints
    assert fks(d.table("category")) == [f"FOREIGN KEY (parent_id) REFERENCES {NS}.categories (id)"]
    assert d.table("category").column("parent_id").nullable  # null_every: every third has no parent
    assert "CONSTRAINT stock_not_negative CHECK ((inventory_count >= 0))" in d.table("product").constraints
    assert [(i.table, i.exprs, i.patterns) for i in d.indexes] == [
        (f"{NS}.orders", ("status",), ("orders_by_status",)),
        (f"{NS}.orders", ("customer_id", "created_at", "id"), ("latest_orders",)),
        (f"{NS}.orders", ("created_at", "id"), ("orders_between", "big_orders_between")),
        (f"{NS}.products", ("to_tsvector('simple', name)",), ("search_products",))]
    assert d.indexes[-1].gin and d.deferred == ()


def test_orders_writes_are_one_statement_and_batches_copy_root_and_items() -> None:
    rows = Rows(derive(model("orders"), NS))
    insert = rows.insert_sql()
    assert insert.startswith("WITH r AS (INSERT INTO sbx_t.orders") and insert.count("INSERT INTO") == 2
    assert "unnest($15::uuid[], $16::integer[], $17::text[], $18::text[], $19::numeric[], $20::numeric[]) " \
           "WITH ORDINALITY" in insert
    assert "$3::text::sbx_t.order_status" in insert  # enums travel as text: no client-side type look-up
    upsert = rows.insert_sql(upsert="version")
    assert "ON CONFLICT (id) DO UPDATE SET" in upsert and "WHERE cur.version < EXCLUDED.version" in upsert
    assert "WHERE r.inserted" in upsert  # items only with a new order row
    assert "ORDER BY k.position" in rows.select_sql("order")


def test_telemetry_social_bookings_designs() -> None:
    t = derive(model("telemetry"), NS)
    readings = t.table("reading")
    assert readings.column("device_id").type.sql == 'text COLLATE "C"'  # a template key is text, not uuid
    assert readings.column("humidity").type.sql == "double precision"
    assert readings.column("alert").type.sql == "boolean"
    assert "CONSTRAINT humidity_in_range CHECK (((humidity >= 0) AND (humidity <= 100)))" in readings.constraints
    assert [(i.exprs, i.patterns) for i in t.indexes] == [(("device_id", "at", "id"), ("last_reading",
                                                                                        "hourly_by_device")),
                                                          (("at", "id"), ("hot_readings",))]
    s = derive(model("social"), NS)
    follows = s.table("follow")
    assert follows.key == ("follower_id", "position") and "UNIQUE (follower_id, followee_id)" in follows.constraints
    assert fks(follows)[-1] == f"FOREIGN KEY (followee_id) REFERENCES {NS}.users (id)"
    assert [(i.exprs, i.gin) for i in s.indexes] == [(("author_id", "created_at", "id"), False),
                                                     (("to_tsvector('simple', body)",), True)]
    b = derive(model("bookings"), NS)
    assert "CONSTRAINT never_overbooked CHECK (((remaining >= 0) AND (remaining <= capacity)))" in \
        b.table("slot").constraints
    assert [(i.table, i.exprs) for i in b.indexes] == [(f"{NS}.slots", ("starts_at", "id"))]
    assert fks(b.table("reservation")) == [f"FOREIGN KEY (slot_id) REFERENCES {NS}.slots (id)"]


def test_jsonb_keeps_an_aggregate_per_row_with_expression_indexes() -> None:
    d = JsonbDesign(model("orders"), NS)
    assert [t.plain for t in d.tables.values()] == ["categories", "products", "customers", "orders"]
    orders = d.tables["order"]
    assert [c for c, _ in orders.collections] == ["items"]
    assert d.expr("order", "total_amount") == "((doc->>'total_amount')::numeric)"
    assert d.expr("order", "created_at") == '((doc->>\'created_at\') COLLATE "C")'
    assert d.typed("order", "created_at") == "((doc->>'created_at')::timestamptz)"
    assert d.param("order", "version", 3) == "$3::integer"
    served = {i.patterns: i.exprs for i in d.indexes if i.patterns}
    assert served[("latest_orders",)] == (d.expr("order", "customer_id"), d.expr("order", "created_at"), "id")
    assert served[("search_products",)] == (f"to_tsvector('simple', {d.expr('product', 'name')})",)
    assert [i.ddl() for i in d.indexes if i.unique][-1] == \
        'CREATE UNIQUE INDEX orders_order_number_key ON sbx_t.orders (((doc->>\'order_number\') COLLATE "C"))'
    assert any("tax_amount_derived" in c for c in orders.constraints)
    assert "not enforced: foreign keys; order.items: quantity_positive" in d.describe()


def test_names_are_quoted_where_postgres_needs_it_and_roots_get_no_fk_to_roots(tmp_path: Path) -> None:
    assert (ident("orders"), ident("user"), ident("Order"), ident("2x")) == ("orders", '"user"', '"Order"', '"2x"')
    path = tmp_path / "edge.toml"
    path.write_text(EDGE)
    m = load(path)
    d = derive(m, NS)
    notes, parts = d.table("note"), d.table("part")
    assert notes.column("user").q == '"user"' and d.table("user").column("order").type.sql == "bigint"  # a sequence
    assert fks(notes) == [f'FOREIGN KEY ("user") REFERENCES {NS}.users (id)']  # none to earlier notes (in flight)
    assert parts.position == "position_" and parts.key == ("note_id", "position_")  # the model has a `position`
    rows = Rows(d)
    assert '"user"' in rows.insert_sql()
    ep = Endpoint("postgres", "postgresql://nobody@127.0.0.1:1/none", {})
    for design in ("normalized", "jsonb"):  # a filter over children is no condition on one row: said, not faked
        refused = make_model_store(ep, NS, m, {"design": design}).answer(m.patterns["busy_notes"])
        assert isinstance(refused, NotAnswerable) and "count(parts) > 1" in refused.reason


def test_factory_picks_the_design_and_its_capabilities(tmp_path: Path) -> None:
    ep = Endpoint("postgres", "postgresql://nobody@127.0.0.1:1/none", {})
    orders = make_model_store(ep, NS, model("orders"), {"design": "jsonb"})
    assert orders.design == "jsonb" and isinstance(orders, BatchWrite) and isinstance(orders, Upsert)
    telemetry = make_model_store(ep, NS, model("telemetry"), {})
    assert telemetry.design == "normalized" and not isinstance(telemetry, Upsert)  # no version field to gate on
    assert "readings" in telemetry.describe()
    with pytest.raises(UsageError, match="unknown design 'wide'"):
        make_model_store(ep, NS, model("orders"), {"design": "wide"})
    path = tmp_path / "deep.toml"
    path.write_text(EDGE + '''bits = { children = "bit", count = 1 }
[entity.bit]
role = "child"
[entity.bit.fields]
part_id = { parent = true }
x = { type = "int", gen = "uniform", min = 1, max = 3 }
''')
    with pytest.raises(UsageError, match=r"part \(owned by note\) owns a collection itself"):
        make_model_store(ep, NS, load(path), {})


def test_range_patterns_read_their_direction() -> None:
    assert model("orders").patterns["latest_orders"].descending
    assert not model("orders").patterns["orders_between"].descending
