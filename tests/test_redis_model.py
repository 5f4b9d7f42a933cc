"""The Redis model store: its derived design per shipped model (no server), and what the contract suite does not
reach on the real server: one server call per write, a batch that carries its script, corruption seen."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from sandbox.config import Settings
from sandbox.stores import make_model_store
from sandbox.stores.contract import Params
from sandbox.stores.redis import lua, mapping
from sandbox.stores.redis.mapping import Counter, SetIndex, SortedIndex
from sandbox.stores.redis.model_store import Lua
from sandbox.workload.dataset import Dataset, Sizes
from sandbox.workload.model_file import load
from tests.raw import Raw

MODELS = Path(__file__).parent.parent / "models"


def design(name: str) -> mapping.Design:
    return mapping.derive(load(MODELS / f"{name}.toml"))


def plan(d: mapping.Design, name: str) -> mapping.Plan:
    got = d.plans[name]
    assert isinstance(got, mapping.Plan), got
    return got


def keys_of(d: mapping.Design, entity: str) -> list[str]:
    layout = d.layouts[entity]
    return [mapping.index_key("ns", layout, s, tuple("{" + f + "}" for f in s.where)) for s in layout.structures]


def test_orders_design() -> None:
    d = design("orders")
    assert set(d.layouts) == {"category", "product", "customer", "order"}  # children live in their owner's hash
    order = d.layouts["order"]
    assert mapping.hash_key("ns", "order", "k1") == "ns:order:k1"
    assert [c.name for c in order.collections] == ["items"]
    assert "order_id" not in [c.name for c in order.collections[0].columns]  # the owner's key, not repeated
    assert keys_of(d, "order") == ["ns:orders:by:created_at", "ns:orders:status={status}",
                                   "ns:orders:customer_id={customer_id}:by:created_at",
                                   "ns:orders:agg:revenue_by_status", "ns:orders:agg:revenue_per_hour"]
    assert plan(d, "orders_between").index == order.every  # the time range reuses the all-keys sorted set
    assert plan(d, "big_orders_between").server_filter
    assert isinstance(plan(d, "revenue_per_hour").counter, Counter)
    assert "RediSearch" in str(d.plans["search_products"])
    assert keys_of(d, "product") == ["ns:products:all"]
    assert order.version == "version"
    assert mapping.kept(d, "order").children == {"items": ("product_id", "quantity", "product_sku", "product_name",
                                                           "unit_price", "total_price")}


def test_other_shipped_designs() -> None:
    telemetry = design("telemetry")
    assert keys_of(telemetry, "reading") == ["ns:readings:by:at", "ns:readings:device_id={device_id}:by:at",
                                             "ns:readings:agg:hourly_by_device:device_id={device_id}",
                                             "ns:readings:agg:per_site"]
    hourly = plan(telemetry, "hourly_by_device").counter
    assert hourly is not None and hourly.sums == ("temperature",)
    social = design("social")
    assert plan(social, "home_timeline").server_filter  # within: the followees' sets merged on the server
    assert plan(social, "home_timeline").index == SortedIndex(("author_id",), "created_at")
    assert isinstance(social.plans["search_posts"], str)
    assert social.layouts["user"].collections[0].columns == (mapping.Column("followee_id", "keyword"),)
    bookings = design("bookings")
    assert keys_of(bookings, "slot") == ["ns:slots:by:starts_at"]  # availability walks it with its filter
    assert plan(bookings, "availability").server_filter
    assert keys_of(bookings, "reservation")[1:] == ["ns:reservations:agg:reservations_by_status"]
    orders = design("orders")
    assert plan(orders, "orders_by_status").index == SetIndex(("status",))


def test_scripts_bake_the_design_not_the_namespace() -> None:
    d = design("orders")
    order = d.layouts["order"]
    write = lua.write_script(order)
    assert "P .. ':orders:status=' .. r['status']" in write
    assert "units(r['total_amount'], 2)" in write  # exact sums in cents
    move = lua.transition_script(order, "status", ("pending",))
    assert "customer_id" not in move  # a status change leaves the customer's sorted set alone
    assert "['pending'] = true" in move
    big = plan(d, "big_orders_between").pattern.filter
    assert big is not None and lua.to_lua(big.tree) == "(v_total_amount > 500)"
    assert mapping.encode("decimal", mapping.exact("1.50", 2)) == "1.50"
    assert mapping.encode("bool", False) == "0" and mapping.encode("int", None) == mapping.NULL


async def _store(live: Settings, model_name: str) -> tuple:
    model = load(MODELS / f"{model_name}.toml")
    store = make_model_store(live, "redis", f"sbx_test_{secrets.token_hex(4)}", model)
    await store.connect()
    ds = Dataset(model, 3, Sizes(40, {"customer": 30, "product": 20}))
    await store.prepare(ds)
    return store, ds


async def test_one_server_call_per_write_and_per_batch(live: Settings) -> None:
    store, ds = await _store(live, "orders")
    try:
        roots = list(ds.roots())

        async def calls() -> int:
            info = await store.client.info("commandstats")
            return sum(int(info.get(f"cmdstat_{c}", {}).get("calls", 0)) for c in ("eval", "evalsha", "multi", "exec"))

        before = await calls()
        for inst in roots[:10]:
            await store.write(inst)
        after_single = await calls()
        await store.write_batch(roots[10:40])
        after_batch = await calls()
        # INFO itself is one call each time it is asked, and is not counted above
        assert after_single - before == 10  # one EVALSHA per write
        assert after_batch - after_single == 32  # MULTI, 30 scripts, EXEC: one round trip
        assert len([r async for r in store.scan("order")]) == 40
    finally:
        await store.teardown()
        await store.close()


async def test_a_batch_and_a_write_carry_a_script_the_server_lacks(live: Settings) -> None:
    store, ds = await _store(live, "orders")
    try:
        fresh = store.writes["order"].text + f"\n-- {secrets.token_hex(8)}\n"  # a script no server has seen
        store.writes["order"] = Lua(fresh)
        roots = list(ds.roots())
        await store.write_batch(roots[:5])  # EVAL first, then EVALSHA of the script it just ran
        store.writes["order"] = Lua(fresh + f"-- {secrets.token_hex(8)}\n")
        await store.write(roots[5])  # NOSCRIPT: nothing ran, so EVAL sends it
        for inst in roots[:6]:
            assert (await store.read("order", inst["id"]))["total_amount"] == inst["total_amount"]
    finally:
        await store.teardown()
        await store.close()


async def test_counters_follow_transitions_and_a_corrupted_hash_reads_back_corrupted(live: Settings) -> None:
    store, ds = await _store(live, "orders")
    try:
        roots = list(ds.roots())
        await store.write_batch(roots)
        by_status = store.answer(store.model.patterns["revenue_by_status"])
        pay = store.answer(store.model.patterns["pay"])
        pending = next(r for r in roots if r["status"] == "pending")
        shipped = next(r for r in roots if r["status"] == "shipped")
        before = {row.group: row for row in await by_status(Params())}
        assert await pay(Params(key=pending["id"], state="confirmed", version=2)) is True
        assert await pay(Params(key=shipped["id"], state="confirmed", version=2)) is False  # not from pending
        after = {row.group: row for row in await by_status(Params())}
        assert after[("confirmed",)].count == before[("confirmed",)].count + 1
        assert after[("confirmed",)].sums[0] == before[("confirmed",)].sums[0] + pending["total_amount"]
        find = store.answer(store.model.patterns["orders_by_status"])
        assert pending["id"] in await find(Params(values={"status": "confirmed"}))
        async with Raw("redis", live) as raw:
            await raw.corrupt(store, "order", shipped["id"], "total_amount", mapping.exact("0.01", 2))
            await raw.corrupt(store, "order", shipped["id"], "items", [])
            assert (await store.read("order", shipped["id"]))["total_amount"] == mapping.exact("0.01", 2)
            assert (await store.read("order", shipped["id"]))["items"] == []
            await raw.remove(store, "order", shipped["id"])
        assert await store.read("order", shipped["id"]) is None
        assert len([r async for r in store.scan("order")]) == len(roots) - 1
    finally:
        await store.teardown()
        await store.close()


@pytest.mark.parametrize("model_name", ["social"])
async def test_increment_of_a_missing_instance_makes_nothing(live: Settings, model_name: str) -> None:
    store, _ = await _store(live, model_name)
    try:
        like = store.answer(store.model.patterns["like"])
        assert await like(Params(key="no-such-post", amount=1)) is None
        assert await store.read("post", "no-such-post") is None
    finally:
        await store.teardown()
        await store.close()


def test_a_client_the_model_store_does_not_speak_is_refused_in_one_line(settings: Settings) -> None:
    from sandbox.errors import UsageError

    with pytest.raises(UsageError, match=r"redis\.client=hiredis-only: choose from redis-py, valkey-glide"):
        make_model_store(settings, "redis", "sbx_x", load(MODELS / "orders.toml"), redis_client="hiredis-only")
