"""The InfluxDB model store: its derived design per shipped model and its line protocol against influxdb_client's
Point (no server), and on the real server one request per write and per batch, and corruption seen."""

from __future__ import annotations

import secrets
from decimal import Decimal
from pathlib import Path

from influxdb_client import Point, WritePrecision

from sandbox.config import Settings
from sandbox.stores import make_model_store
from sandbox.stores.contract import Params
from sandbox.stores.influx import mapping, stats
from sandbox.stores.influx.codec import compile_line
from sandbox.workload.dataset import Dataset, Sizes
from sandbox.workload.model_file import load
from tests.raw import Raw

MODELS = Path(__file__).parent.parent / "models"
SHIPPED = ("orders", "telemetry", "social", "bookings")


def design(name: str) -> mapping.Design:
    return mapping.derive(load(MODELS / f"{name}.toml"))


def test_stream_entities_become_measurements_the_rest_is_not_suited() -> None:
    orders = design("orders")
    assert list(orders.measurements) == ["order"]
    m = orders.measurements["order"]
    assert (m.name, m.key, m.time) == ("orders", "id", "created_at")
    assert [c.name for c in m.tags] == ["status", "customer_segment"]
    assert "id" in [c.name for c in m.fields] and "items" not in [c.name for c in m.fields]
    assert "not suited" in orders.unsuited["product"] and "not kept" in orders.unsuited["order_item"]
    assert mapping.kept(orders, "product").fields == ()
    assert mapping.kept(orders, "order").children == {}
    assert "append" in str(orders.plans["update_status"])
    big = orders.plans["big_orders_between"]
    assert isinstance(big, mapping.Query)
    assert big.text == ('SELECT "id" FROM "orders" WHERE {where} AND "total_amount" > 500 ORDER BY time '
                        'LIMIT 100')
    by_hour = orders.plans["revenue_per_hour"]
    assert isinstance(by_hour, mapping.Query)
    assert 'GROUP BY time(3600000ms), "status" fill(none)' in by_hour.text
    telemetry = design("telemetry")
    assert all(isinstance(p, mapping.Query) for p in telemetry.plans.values())  # a stream model: all answered
    bookings = design("bookings")
    assert "not an event stream" in str(bookings.plans["availability"])
    social = design("social")
    assert [c.name for c in social.measurements["post"].tags] == ["author_id"]
    assert "InfluxQL" in str(social.plans["search_posts"])


def test_filters_influxql_cannot_say_are_refused() -> None:
    m = design("orders").measurements["order"]
    tree = ("cmp", ">", ("name", "status"), ("lit", "pending"))
    try:
        mapping.where_sql(tree, m)
    except mapping.NotInfluxQL as exc:
        assert "tag" in str(exc)
    else:
        raise AssertionError("an ordering comparison on a tag must be refused")


def test_line_protocol_is_what_influxdb_client_point_writes() -> None:
    for name in SHIPPED:
        model = load(MODELS / f"{name}.toml")
        d = mapping.derive(model)
        for entity, m in d.measurements.items():
            line = compile_line(m)
            for inst in Dataset(model, 9, Sizes(300)).roots():
                point = Point(m.name).time(mapping.epoch_ms(inst[m.time]), WritePrecision.MS)
                for c in m.tags:
                    point.tag(c.name, mapping.tag_text(inst[c.name]))
                for c in m.fields:
                    v = inst[c.name]
                    point.field(c.name, mapping.epoch_ms(v) if c.kind == "timestamp" else v)
                assert line(inst) == point.to_line_protocol(), (name, entity)
    m = design("orders").measurements["order"]
    odd = {c.name: None for c in (*m.tags, *m.fields)} | {"created_at": mapping.EPOCH, "id": 'a "q" \\ b',
                                                          "status": "x, y=z", "total_amount": Decimal("12.0")}
    assert compile_line(m)(odd) == 'orders,status=x\\,\\ y\\=z id="a \\"q\\" \\\\ b",total_amount=12 0'


async def _store(live: Settings, model_name: str) -> tuple:
    model = load(MODELS / f"{model_name}.toml")
    store = make_model_store(live, "influx", f"sbx_test_{secrets.token_hex(4)}", model)
    await store.connect()
    ds = Dataset(model, 3, Sizes(60, {"customer": 30, "product": 20}))
    await store.prepare(ds)
    return store, ds


async def test_one_request_per_write_and_per_batch(live: Settings) -> None:
    store, ds = await _store(live, "orders")
    try:
        roots = list(ds.roots())

        async def writes() -> float:
            return (await stats.snapshot(store.query, store.namespace)).counters["httpd.writeReq"]

        before = await writes()
        for inst in roots[:10]:
            await store.write(inst)
        single = await writes()
        await store.write_batch(roots[10:60])
        batch = await writes()
        assert (single - before, batch - single) == (10, 1)
        assert len([r async for r in store.scan("order")]) == 60
    finally:
        await store.teardown()
        await store.close()


async def test_a_corrupted_point_reads_back_corrupted_and_patterns_see_it(live: Settings) -> None:
    store, ds = await _store(live, "orders")
    try:
        roots = list(ds.roots())
        await store.write_batch(roots)
        first, second = roots[0], roots[1]
        async with Raw("influx", live) as raw:
            await raw.corrupt(store, "order", first["id"], "total_amount", Decimal("0.01"))
            await raw.corrupt(store, "order", second["id"], "status", "refunded")
            assert (await store.read("order", first["id"]))["total_amount"] == Decimal("0.01")
            assert (await store.read("order", second["id"]))["status"] == "refunded"
            await raw.remove(store, "order", first["id"])
        assert await store.read("order", first["id"]) is None
        assert len([r async for r in store.scan("order")]) == len(roots) - 1  # the retagged point is one point
        find = store.answer(store.model.patterns["orders_by_status"])
        assert second["id"] in await find(Params(values={"status": "refunded"}))
    finally:
        await store.teardown()
        await store.close()
