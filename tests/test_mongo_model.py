"""The MongoDB model store: its derived designs per shipped model (no server), and what the contract suite does
not reach on the real server: commands per write, the validator, duplicates, referenced children, corruption."""

from __future__ import annotations

import asyncio
import decimal
import random
import secrets
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from bson.decimal128 import Decimal128
from pymongo import monitoring
from pymongo.errors import DuplicateKeyError, OperationFailure, WriteError

from sandbox.config import Settings
from sandbox.errors import SandboxError, UsageError
from sandbox.stores import make_model_store
from sandbox.stores.contract import NotAnswerable, Params, refuses_under_contention
from sandbox.stores.mongo.documents import decimal128
from sandbox.stores.mongo.expressions import to_mongo
from sandbox.stores.mongo.mapping import POSITION, MongoDesign, derive
from sandbox.workload.dataset import Dataset, Sizes
from sandbox.workload.expr import parse
from sandbox.workload.model_file import load
from tests.raw import Raw

MODELS = Path(__file__).parent.parent / "models"


def design(name: str, children: str = "embedded") -> MongoDesign:
    return derive(load(MODELS / f"{name}.toml"), {"children": children})


def indexes(d: MongoDesign, entity: str) -> dict[str, bool]:
    return {ix.name: ix.unique for ix in d.collection(entity).indexes}


def test_orders_embedded_design() -> None:
    d = design("orders")
    assert {e: c.name for e, c in d.collections.items()} == {
        "category": "categories", "product": "products", "customer": "customers", "order": "orders"}
    assert indexes(d, "order") == {"order_number_1": True, "status_1": False, "customer_id_1_created_at_1": False,
                                   "created_at_1": False}  # revenue_* need none; big_orders shares created_at
    assert indexes(d, "product") == {"sku_1": True}
    schema = d.collection("order").validator["$jsonSchema"]
    props = schema["properties"]
    assert props["_id"] == {"bsonType": "string"} and "id" not in props  # the key is _id
    assert props["total_amount"] == {"bsonType": "decimal"} and props["created_at"] == {"bsonType": "date"}
    assert props["status"]["enum"][0] == "pending" and schema["additionalProperties"] is False
    items = props["items"]["items"]["properties"]
    assert "order_id" not in items and items["unit_price"] == {"bsonType": "decimal"}  # the owner's _id says it
    assert "additionalProperties" not in props["items"]["items"]  # typed and required, not closed
    assert "$expr" not in d.collection("order").validator  # order_item's check: on read-back, not per insert
    assert d.collection("product").checks == ("price_not_negative", "stock_not_negative")
    assert d.collection("product").validator["$expr"]["$and"][0] == {"$gte": ["$base_price", 0]}
    assert d.collection("category").validator["$jsonSchema"]["properties"]["parent_id"]["bsonType"] == \
        ["string", "null"]
    assert d.version_field == "version"


def test_orders_referenced_design() -> None:
    d = design("orders", "referenced")
    assert d.collection("order_item").name == "order_items" and d.collection("address").name == "addresses"
    assert indexes(d, "order_item") == {"order_id_1__pos_1": True}
    item = d.collection("order_item").validator["$jsonSchema"]["properties"]
    assert item["_id"] == {"bsonType": "objectId"} and item["order_id"] == {"bsonType": "string"}
    assert item[POSITION] == {"bsonType": "int"}
    assert d.collection("address").validator["$jsonSchema"]["properties"]["_id"] == {"bsonType": "string"}
    assert "items" not in d.collection("order").validator["$jsonSchema"]["properties"]
    assert [(o.member, o.collection, o.parent_key) for o in d.collection("order").owned] == [
        ("items", "order_items", "order_id")]
    assert "3 round trips" in d.describe()


def test_other_shipped_designs() -> None:
    telemetry = design("telemetry")
    assert indexes(telemetry, "reading") == {"device_id_1_at_1": False, "at_1": False}  # hourly: a prefix of it
    assert telemetry.collection("reading").checks == ("humidity_in_range",)
    social = design("social")
    assert indexes(social, "post") == {"author_id_1_created_at_1": False}  # user_posts and home_timeline
    assert indexes(social, "user") == {"handle_1": True}
    assert "$regex" in social.describe() and "scan" in social.describe()
    bookings = design("bookings")
    assert indexes(bookings, "slot") == {"starts_at_1": False} and indexes(bookings, "reservation") == {}
    assert "one conditional update_one" in bookings.describe()
    assert all(d.unanswerable(p) is None for d in (telemetry, social, bookings) for p in d.model.patterns.values())


def test_expressions_translate_exactly_or_not_at_all() -> None:
    ref = "${}".format
    assert to_mongo(parse("total_amount > 500"), ref, collections=False) == {"$gt": ["$total_amount", 500]}
    got = to_mongo(parse("a >= 0.5 and not (b == 'x')"), ref, collections=False)
    assert str(got["$and"][0]["$gte"][1]) == "0.5" and got["$and"][1] == {"$not": [{"$eq": ["$b", {"$literal": "x"}]}]}
    assert to_mongo(parse("count(items) > 2"), ref, collections=True) == {"$gt": [{"$size": "$items"}, 2]}
    assert to_mongo(parse("count(items) > 2"), ref, collections=False) is None  # children elsewhere
    assert to_mongo(parse("round(a, 2) > 1"), ref, collections=False) is None  # half-even in MongoDB


def test_a_filter_without_translation_is_not_answerable(tmp_path: Path) -> None:
    text = (MODELS / "orders.toml").read_text().replace('filter = "total_amount > 500"',
                                                        'filter = "round(total_amount, 0) > 500"')
    (tmp_path / "orders.toml").write_text(text)
    d = derive(load(tmp_path / "orders.toml"), {})
    assert "half-even" in str(d.unanswerable(d.model.patterns["big_orders_between"]))


def test_an_unknown_design_is_one_line() -> None:
    with pytest.raises(UsageError, match="choose from embedded, referenced"):
        design("orders", "inline")


class Commands(monitoring.CommandListener):
    """Commands sent to one database, and transactions' commits and aborts (sent to admin): the client's monitoring,
    what goes over the wire, one command per round trip."""

    def __init__(self) -> None:
        self.db: str | None = None
        self.names: list[str] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.database_name == self.db or (self.db and event.command_name in ("commitTransaction",
                                                                                   "abortTransaction")):
            self.names.append(event.command_name)

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None: ...
    def failed(self, event: monitoring.CommandFailedEvent) -> None: ...


COMMANDS = Commands()
monitoring.register(COMMANDS)  # for clients created after this; it counts only the database a test names


@pytest.fixture
async def orders_store(live: Settings) -> Any:
    opened: list[Any] = []

    async def make(variant: str = "mongo", n: int = 20) -> tuple[Any, Dataset]:
        model = load(MODELS / "orders.toml")
        store = make_model_store(live, variant, f"sbx_test_{secrets.token_hex(4)}", model)
        await store.connect()
        opened.append(store)
        ds = Dataset(model, 3, Sizes(n, {"customer": 30, "product": 20}))
        await store.prepare(ds)
        return store, ds

    yield make
    for store in opened:
        try:
            await store.teardown()
        finally:
            await store.close()


async def test_a_write_is_one_command_and_a_batch_one_per_collection(orders_store) -> None:
    store, ds = await orders_store()
    roots = list(ds.roots())
    COMMANDS.db, COMMANDS.names = store.namespace, []
    status = (await store.client.admin.command("serverStatus"))["opcounters"]
    for inst in roots[:5]:
        await store.write(inst)
    after = (await store.client.admin.command("serverStatus"))["opcounters"]
    assert COMMANDS.names == ["insert"] * 5
    assert after["insert"] - status["insert"] == 5 and after["update"] == status["update"]  # the server agrees
    COMMANDS.names = []
    await store.write_batch(roots[5:])
    assert COMMANDS.names == ["insert"]
    ref, _ = await orders_store("mongo:referenced")
    COMMANDS.db, COMMANDS.names = ref.namespace, []
    await ref.write(roots[0])
    assert COMMANDS.names == ["insert", "insert", "commitTransaction"]  # the order, its items, the commit
    COMMANDS.names = []
    await ref.write_batch(roots[1:])
    assert COMMANDS.names == ["insert", "insert", "commitTransaction"]


@pytest.mark.parametrize("variant", ["mongo", "mongo:referenced"])
async def test_duplicates_and_bad_documents_are_refused_by_the_server(orders_store, variant: str) -> None:
    store, ds = await orders_store(variant)
    roots = list(ds.roots())
    await store.write(roots[0])
    with pytest.raises(DuplicateKeyError):
        await store.write(roots[0])
    with pytest.raises(SandboxError, match="refused 1 of 3"):
        await store.write_batch([*roots[1:3], roots[0]])
    # embedded: ordered=False, the other two are in; referenced: the batch is one transaction, none is
    assert (await store.read("order", roots[2]["id"]) is None) == (variant == "mongo:referenced")
    with pytest.raises(WriteError, match="validation"):  # an enum value the model does not have
        await store.write({**roots[5], "status": "lost"})
    with pytest.raises(WriteError, match="validation"):  # text where the model has an int
        await store.write({**roots[6], "item_count": "three"})
    with pytest.raises(OperationFailure, match="validation"):  # an item without its quantity
        await store.write({**roots[7], "items": [{k: v for k, v in roots[7]["items"][0].items() if k != "quantity"}]})
    assert await store.read("order", roots[7]["id"]) is None  # referenced: the order went with its items


async def test_referenced_children_come_back_in_order_and_get_leaves_out_what_it_does_not_include(
        orders_store, live: Settings) -> None:
    store, ds = await orders_store("mongo:referenced")
    roots = list(ds.roots())
    for inst in roots:
        await store.write(inst)
    many = max(roots, key=lambda r: len(r["items"]))
    assert (await store.read("order", many["id"]))["items"] == many["items"]
    customer = ds.reference["customer"][4]
    assert (await store.read("customer", customer["id"]))["addresses"] == customer["addresses"]
    got = await store.answer(store.model.patterns["get_order"])(Params(key=many["id"]))
    assert got["items"] == many["items"]
    assert await store.fetch("order", many["id"], {"items": 0}) == {k: v for k, v in many.items() if k != "items"}
    async with Raw("mongo", live) as raw:
        await raw.corrupt(store, "order", many["id"], "items", many["items"][:1])
        assert (await store.read("order", many["id"]))["items"] == many["items"][:1]
        await raw.corrupt(store, "order", many["id"], "total_amount", Decimal("0.01"))
        assert (await store.read("order", many["id"]))["total_amount"] == Decimal("0.01")
        await raw.remove(store, "order", many["id"])
        assert await store.read("order", many["id"]) is None


async def test_corruption_is_seen_by_reads_and_scans(orders_store, live: Settings) -> None:
    store, ds = await orders_store()
    roots = list(ds.roots())
    await store.write_batch(roots)
    async with Raw("mongo", live) as raw:
        await raw.corrupt(store, "order", roots[1]["id"], "status", "teleported")  # the validator is bypassed
        await raw.corrupt(store, "order", roots[2]["id"], "items", [])
        await raw.remove(store, "order", roots[3]["id"])
    scanned = {r["id"]: r async for r in store.scan("order")}
    assert scanned[roots[1]["id"]]["status"] == "teleported" and scanned[roots[2]["id"]]["items"] == []
    assert roots[3]["id"] not in scanned and scanned[roots[4]["id"]] == roots[4]


async def test_search_matches_whole_words_in_any_case_on_the_server(orders_store) -> None:
    store, ds = await orders_store()
    search = store.answer(store.model.patterns["search_products"])
    word = ds.reference["product"][0]["name"].split()[1]  # "lamp"
    want = {p["id"] for p in ds.reference["product"] if word.lower() in p["name"].lower().split()}
    assert 0 < len(want) <= 20 and set(await search(Params(word=word.upper()))) == want
    assert await search(Params(word=word[:-1])) == []  # part of a word is no word
    assert await search(Params(word="la.p")) == []  # not a token: in no text, and no regex either


async def test_several_targets_taken_all_or_none_under_contention(orders_store) -> None:
    store, ds = await orders_store()
    take = store.answer(store.model.patterns["take_stock"])
    assert not isinstance(take, NotAnswerable) and refuses_under_contention(take)  # a transaction's write conflict
    p0, p1 = ds.reference["product"][0], ds.reference["product"][1]
    results = await asyncio.gather(*(take(Params(targets=((p0["id"], 1), (p1["id"], 2)))) for _ in range(12)))
    took = sum(results)
    assert took >= 1
    assert (await store.read("product", p0["id"]))["inventory_count"] == p0["inventory_count"] - took
    assert (await store.read("product", p1["id"]))["inventory_count"] == p1["inventory_count"] - 2 * took


def test_every_pattern_is_bound_without_a_connection(settings: Settings) -> None:
    for name in ("orders", "telemetry", "social", "bookings"):  # `sandbox model show` binds them all unconnected
        model = load(MODELS / f"{name}.toml")
        for variant in ("mongo", "mongo:referenced"):
            store = make_model_store(settings, variant, "sbx_test_unconnected", model)
            assert all(store.answer(p) is not None for p in model.patterns.values())


def test_decimal128_has_the_library_bits() -> None:
    rng = random.Random(7)
    values = [Decimal(rng.randint(-10 ** 14, 10 ** 14)).scaleb(-rng.randint(0, 8)) for _ in range(5000)]
    values += [Decimal(x) for x in ("0", "-0.00", "0.01", "1E+3", "9" * 34, "NaN", "-Infinity")]
    for v in values:
        assert decimal128(v).bid == Decimal128(v).bid, v
    with pytest.raises(decimal.Inexact):  # more digits than Decimal128 holds: refused, as the library refuses
        decimal128(Decimal("1" * 40 + ".5"))
