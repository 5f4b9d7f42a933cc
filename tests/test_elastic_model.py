"""The Elasticsearch model store: its derived design per shipped model (no server), and what the contract suite
does not reach on the real server: documents indexed per write, duplicates, optimistic refusals, corruption."""

from __future__ import annotations

import asyncio
import secrets
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from elasticsearch import ConflictError

from sandbox.config import Settings
from sandbox.errors import SandboxError, UsageError
from sandbox.stores import make_model_store
from sandbox.stores.contract import Conflict, NotAnswerable, Params, refuses_under_contention
from sandbox.stores.elastic.mapping import ElasticDesign, derive, filter_query
from sandbox.workload.dataset import Dataset, Sizes
from sandbox.workload.expr import parse
from sandbox.workload.model_file import load
from tests.raw import Raw

MODELS = Path(__file__).parent.parent / "models"
STORED = {"index": False, "doc_values": False}


def design(name: str) -> ElasticDesign:
    return derive(load(MODELS / f"{name}.toml"), "ns")


def props(d: ElasticDesign, entity: str) -> dict[str, Any]:
    return dict(d.indices[entity].mapping["properties"])


def test_orders_design() -> None:
    d = design("orders")
    assert {e: ix.name for e, ix in d.indices.items()} == {
        "category": "ns-categories", "product": "ns-products", "customer": "ns-customers", "order": "ns-orders"}
    assert d.indices["order"].mapping["dynamic"] == "strict"
    order = props(d, "order")
    # what patterns read is indexed: the key, status (find, group), customer_id (range), created_at, total_amount
    assert order["id"] == {"type": "keyword"} and order["status"] == {"type": "keyword"}
    assert order["created_at"] == {"type": "date"}
    assert order["total_amount"] == {"type": "scaled_float", "scaling_factor": 100}
    assert order["subtotal"] == {"type": "scaled_float", "scaling_factor": 100, **STORED}  # kept, never searched
    assert order["order_number"] == {"type": "keyword", **STORED}
    items = order["items"]
    assert items["type"] == "nested" and "order_id" not in items["properties"]  # the owner's _id says it
    assert items["properties"]["unit_price"]["scaling_factor"] == 100
    assert props(d, "product")["name"] == {"type": "text"}  # searched by word, matched exactly by nothing
    assert "take_stock" in d.describe() and "transaction" in str(d.unanswerable(d.model.patterns["take_stock"]))
    assert d.unanswerable(d.model.patterns["big_orders_between"]) is None


def test_other_shipped_designs() -> None:
    telemetry = props(design("telemetry"), "reading")
    assert telemetry["temperature"] == {"type": "scaled_float", "scaling_factor": 100}  # filtered, summed
    assert telemetry["humidity"] == {"type": "double", **STORED}
    assert telemetry["alert"] == {"type": "boolean", **STORED}
    social = design("social")
    assert props(social, "post")["body"] == {"type": "text"}
    assert props(social, "post")["likes"] == {"type": "long", **STORED}  # incremented by _id, never searched
    assert props(social, "user")["follows"]["properties"] == {"followee_id": {"type": "keyword", **STORED}}
    bookings = design("bookings")
    assert props(bookings, "slot")["remaining"] == {"type": "long"}  # availability's filter
    assert all(d.unanswerable(p) is None for d in (design("telemetry"), social, bookings)
               for p in d.model.patterns.values())


def test_a_searched_text_field_matched_exactly_gets_a_keyword_subfield(tmp_path: Path) -> None:
    text = (MODELS / "social.toml").read_text().replace(
        '[pattern.like]', '[pattern.by_body]\nkind = "find"\nwhere = ["body"]\nlimit = 5\n\n[pattern.like]')
    (tmp_path / "social.toml").write_text(text)
    d = derive(load(tmp_path / "social.toml"), "ns")
    assert props(d, "post")["body"] == {"type": "text", "fields": {"raw": {"type": "keyword"}}}
    assert d.exact("post", "body") == "body.raw" and d.exact("post", "author_id") == "author_id"


def test_filters_become_query_clauses_or_are_not_answerable() -> None:
    d = design("orders")
    f = filter_query(d, "order", parse("total_amount > 500 and status != 'pending'"))
    assert f == {"bool": {"filter": [{"range": {"total_amount": {"gt": 500}}},
                                     {"bool": {"must_not": [{"term": {"status": "pending"}}]}}]}}
    assert filter_query(d, "order", parse("500 < total_amount")) == {"range": {"total_amount": {"gt": 500}}}
    assert filter_query(d, "order", parse("total_amount > subtotal * 2")) is None  # a script query
    assert filter_query(d, "order", parse("count(items) > 2")) is None


def test_a_bad_refresh_option_is_one_line(live: Settings) -> None:
    with pytest.raises(UsageError, match="es_refresh"):
        make_model_store(live, "elastic", "sbx_test_x", load(MODELS / "orders.toml"), es_refresh="sometimes")


@pytest.fixture
async def opened(live: Settings) -> Any:
    stores: list[Any] = []

    async def make(name: str = "orders", n: int = 20, **options: Any) -> tuple[Any, Dataset]:
        model = load(MODELS / f"{name}.toml")
        store = make_model_store(live, "elastic", f"sbx_test_{secrets.token_hex(4)}", model, **options)
        await store.connect()
        stores.append(store)
        ds = Dataset(model, 3, Sizes(n, {"customer": 30, "product": 20} if name == "orders" else None))
        await store.prepare(ds)
        return store, ds

    yield make
    for store in stores:
        try:
            await store.teardown()
        finally:
            await store.close()


async def _indexed(store: Any) -> tuple[int, int]:
    """index_total and query_total of the root's index, from the server's _stats."""
    index = store.design.index(store.model.root)
    total = (await store.es.indices.stats(index=index)).body["indices"][index]["total"]
    return total["indexing"]["index_total"], total["search"]["query_total"]


async def test_a_write_indexes_one_document_and_a_duplicate_is_refused(opened) -> None:
    store, ds = await opened()
    roots = list(ds.roots())
    before = await _indexed(store)
    for inst in roots[:5]:
        await store.write(inst)
    await store.write_batch(roots[5:15])
    indexed, queried = await _indexed(store)
    assert (indexed - before[0], queried - before[1]) == (15, 0)  # one document each, nothing searched
    assert await store.visible(roots[0]["id"])  # the stand-in has no refresh lag; Elasticsearch would
    with pytest.raises(ConflictError):
        await store.write(roots[0])  # op_type create: a key written twice is refused
    with pytest.raises(SandboxError, match="refused 1 of 3"):
        await store.write_batch([roots[15], roots[1], roots[16]])
    assert await store.read("order", roots[16]["id"]) == roots[16]  # the others are in, exact


async def test_wait_for_refresh_is_sent_with_writes(opened) -> None:
    store, ds = await opened(es_refresh="wait_for")
    assert store.refresh == "wait_for"
    await store.write(ds.root(0))
    assert await store.visible(ds.root(0)["id"])


async def test_optimistic_updates_refuse_a_lost_race_and_count_the_rest(opened) -> None:
    store, ds = await opened("social", 10)
    roots = list(ds.roots())
    await store.write_batch(roots)
    like = store.answer(store.model.patterns["like"])
    assert refuses_under_contention(like)
    results = await asyncio.gather(*(like(Params(key=roots[0]["id"], amount=2)) for _ in range(12)),
                                   return_exceptions=True)
    applied = [r for r in results if not isinstance(r, Conflict)]
    assert sorted(applied) == list(range(2, 2 * len(applied) + 1, 2))
    assert (await store.read("post", roots[0]["id"]))["likes"] == 2 * len(applied)
    assert [await like(Params(key=roots[1]["id"], amount=1)) for _ in range(3)] == [1, 2, 3]  # alone: every one


async def test_several_targets_are_not_answerable_and_one_target_is(opened) -> None:
    store, _ = await opened()
    assert isinstance(store.answer(store.model.patterns["take_stock"]), NotAnswerable)
    bookings, ds = await opened("bookings", 10)
    take = bookings.answer(bookings.model.patterns["take_seat"])
    slot = ds.reference["slot"][3]
    assert [await take(Params(targets=((slot["id"], 1),))) for _ in range(slot["capacity"] + 1)] == \
        [True] * slot["capacity"] + [False]
    assert await take(Params(targets=(("no-such-slot", 1),))) is False


async def test_corruption_is_seen_by_reads_and_scans(opened, live: Settings) -> None:
    store, ds = await opened()
    roots = list(ds.roots())
    await store.write_batch(roots)
    async with Raw("elastic", live) as raw:
        await raw.corrupt(store, "order", roots[1]["id"], "total_amount", Decimal("0.01"))
        await raw.corrupt(store, "order", roots[2]["id"], "items", roots[2]["items"][:1])
        await raw.remove(store, "order", roots[3]["id"])
    scanned = {r["id"]: r async for r in store.scan("order")}
    assert scanned[roots[1]["id"]]["total_amount"] == Decimal("0.01")
    assert scanned[roots[2]["id"]]["items"] == roots[2]["items"][:1]
    assert roots[3]["id"] not in scanned and scanned[roots[4]["id"]] == roots[4]
    assert await store.read("order", roots[3]["id"]) is None


async def test_search_matches_whole_words_only(opened) -> None:
    store, ds = await opened()
    search = store.answer(store.model.patterns["search_products"])
    word = ds.reference["product"][0]["name"].split()[1]
    want = {p["id"] for p in ds.reference["product"] if word.lower() in p["name"].lower().split()}
    assert 0 < len(want) <= 20 and set(await search(Params(word=word.upper()))) == want
    assert await search(Params(word=word[:-1])) == []
    assert await search(Params(word="la.p")) == []


def test_every_pattern_is_bound_without_a_connection(settings: Settings) -> None:
    for name in ("orders", "telemetry", "social", "bookings"):  # `sandbox model show` binds them all unconnected
        model = load(MODELS / f"{name}.toml")
        store = make_model_store(settings, "elastic", "sbx_test_unconnected", model)
        assert all(store.answer(p) is not None for p in model.patterns.values())
