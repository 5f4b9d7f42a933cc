"""The model store contract (sandbox/stores/contract.py) on every kind that holds a model, on the real servers.

Each shipped model and a model defined only here are prepared, written (one by one and in batches), read
back, scanned and asked every access pattern; answers are held to the oracle (sandbox/workload/oracle.py),
computed from the generated instances. A pattern a store cannot answer must say why, never be faked.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from sandbox.config import Settings
from sandbox.stores import make_model_store
from sandbox.stores.contract import (
    BatchWrite,
    Conflict,
    NamespaceExists,
    NotAnswerable,
    Params,
    Upsert,
    refuses_under_contention,
)
from sandbox.stores.registry import StoreRegistry
from sandbox.workload import oracle
from sandbox.workload.dataset import Dataset, Instance, Sizes
from sandbox.workload.model_file import load
from sandbox.workload.params import ReadParams

MODELS = Path(__file__).parent.parent / "models"
# every store kind that holds a model, and each built-in design of it ("mongo:referenced") as a store of its own;
# not the no-op harness store, which keeps nothing by design (`sandbox calibrate` measures the harness with it)
KINDS = [name for n, k in StoreRegistry.built_in().kinds.items() if k.model_store is not None and k.in_default_set
         for name in (n, *(f"{n}:{d}" for d in k.designs))]
SHIPPED = ["orders", "telemetry", "social", "bookings"]
SMALL = {"orders": {"customer": 60, "product": 40}, "social": {"user": 80}, "bookings": {"slot": 120},
         "telemetry": {"device": 30}}
N = 240  # roots per test data set: small, every pattern still finds something

TEST_MODEL = '''
name = "library"
description = "Defined only in this test: loans of books by members, each loan with its lines"

[entity.member]
role = "reference"
count = 25
[entity.member.fields]
id = { type = "keyword", gen = "template", template = "m{index:03d}" }
name = { type = "text", gen = "words", min = 2, max = 3, text = true }
tier = { type = "enum", values = ["basic", "gold"], gen = "weighted", weights = { basic = 80, gold = 20 } }

[entity.loan]
role = "root"
[entity.loan.fields]
id = { type = "id", gen = "uuid" }
member_id = { ref = "member", pick = "zipfian", skew = 0.5 }
tier = { copy = "member_id.tier" }
lines = { children = "loan_line", count = { gen = "uniform", min = 1, max = 3 } }
opened_at = { type = "timestamp", gen = "spaced", spacing_ms = 1000, jitter_ms = 1000 }
state = { type = "enum", values = ["open", "done", "lost"], gen = "weighted", weights = [60, 35, 5] }
overdue = { type = "bool", gen = "bool", chance = 0.1 }
version = { type = "int", gen = "constant", value = 1, version = true }
fee = { type = "decimal", scale = 2, derive = "sum(lines.fee)" }
pages = { type = "int", derive = "sum(lines.pages)" }
[entity.loan.stream]
time = "opened_at"
tags = ["state", "tier"]
[entity.loan.checks]
fee_not_negative = "fee >= 0"

[entity.loan_line]
role = "child"
[entity.loan_line.fields]
loan_id = { parent = true }
title = { type = "text", gen = "words", min = 1, max = 4 }
pages = { type = "int", gen = "lognormal", median = 250, sigma = 0.5, min = 20, max = 2000 }
fee = { type = "decimal", scale = 2, gen = "uniform", min = "0.50", max = "3.00" }

[pattern.get_loan]
kind = "get"
include = ["lines"]
[pattern.by_state]
kind = "find"
where = ["state"]
limit = 15
[pattern.member_loans]
kind = "range"
where = ["member_id"]
order_by = "opened_at"
descending = true
limit = 5
[pattern.opened_between]
kind = "range"
range = "opened_at"
order_by = "opened_at"
span = 30
limit = 50
[pattern.fees_by_state]
kind = "aggregate"
group_by = ["state"]
sum = ["fee"]
check = true
[pattern.give_back]
kind = "transition"
field = "state"
from = ["open"]
to = "done"

[mix.desk]
get_loan = 50
member_loans = 30
give_back = 20
'''


def registry() -> StoreRegistry:
    return StoreRegistry.built_in()


def model_of(name: str, tmp_path: Path) -> Any:
    if name == "library":
        path = tmp_path / "library.toml"
        path.write_text(TEST_MODEL)
        return load(path)
    return load(MODELS / f"{name}.toml")


@pytest.fixture
async def opened(live: Settings) -> AsyncIterator:
    stores: list = []

    async def factory(kind: str, model: Any, namespace: str | None = None) -> Any:
        store = make_model_store(live, kind, namespace or f"sbx_test_{secrets.token_hex(4)}", model)
        await store.connect()
        stores.append(store)
        return store

    yield factory
    for store in stores:
        try:
            await store.teardown()
        finally:
            await store.close()


async def _load(store: Any, ds: Dataset) -> list[Instance]:
    await store.prepare(ds)
    roots = list(ds.roots())
    half = len(roots) // 2
    for inst in roots[:half]:
        await store.write(inst)
    if isinstance(store, BatchWrite):
        for i in range(half, len(roots), 50):
            await store.write_batch(roots[i:i + 50])
    else:
        for inst in roots[half:]:
            await store.write(inst)
    return roots


def _project(inst: Instance, kept: Any) -> dict[str, Any]:
    out = {f: inst[f] for f in kept.fields}
    for coll, fields in kept.children.items():
        out[coll] = [{f: c[f] for f in fields} for c in inst[coll]]
    return out


def _suited(store: Any, model: Any) -> bool:
    return bool(store.kept(model.root).fields)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("model_name", [*SHIPPED, "library"])
async def test_written_instances_read_back_and_scan_exactly(kind: str, model_name: str, opened, tmp_path) -> None:
    model = model_of(model_name, tmp_path)
    store = await opened(kind, model)
    ds = Dataset(model, 7, Sizes(N, SMALL.get(model_name)))
    if not _suited(store, model):
        pytest.skip(f"{kind} does not hold {model_name}: {store.describe()}")  # the reason is its describe()
    roots = await _load(store, ds)
    kept = store.kept(model.root)
    key = model.root_entity.key
    for inst in roots[::17]:
        assert _project(inst, kept) == _project(await store.read(model.root, inst[key]), kept)
    assert await store.read(model.root, "no-such-key-" + secrets.token_hex(4)) is None
    scanned = {r[key]: r async for r in store.scan(model.root)}
    assert len(scanned) == len(roots)
    for inst in roots:
        assert _project(scanned[inst[key]], kept) == _project(inst, kept)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("model_name", [*SHIPPED, "library"])
async def test_every_read_pattern_is_answered_right_or_declared_unanswerable(kind: str, model_name: str, opened,
                                                                             tmp_path) -> None:
    model = model_of(model_name, tmp_path)
    store = await opened(kind, model)
    ds = Dataset(model, 11, Sizes(N, SMALL.get(model_name)))
    if not _suited(store, model):
        pytest.skip(f"{kind} does not hold {model_name}")
    roots = await _load(store, ds)
    answered = 0
    for p in model.patterns.values():
        if p.kind not in ("get", "find", "range", "search", "aggregate"):
            continue
        answerer = store.answer(p)
        if isinstance(answerer, NotAnswerable):
            assert answerer.reason, f"{kind} {p.name}: NotAnswerable needs a reason"
            continue
        answered += 1
        instances = roots if p.entity == model.root else ds.reference[p.entity]
        draw = ReadParams(ds, p, seed=3)
        e = model.entity(p.entity)
        for _ in range(6):
            params = draw.next(len(instances))
            got = await answerer(params)
            if p.kind == "get":
                assert got is not None and got[e.key] == params.key, p.name
            elif p.kind == "aggregate":
                want = oracle.expected_rows(p, params if (p.where or p.range) else None, instances)
                scales = [e.field(f).type.scale if e.field(f).type.kind == "decimal" else None for f in p.sums]
                verdicts = oracle.compare_rows(want, got, scales)
                assert all(v in ("ok", "drift") for v in verdicts), f"{kind} {p.name}: {verdicts[:3]}"
            else:
                assert (why := oracle.agrees(p, e, params, got, instances)) is None, f"{kind} {p.name}: {why}"
    assert answered, f"{kind} answered no read pattern of {model_name}"


@pytest.mark.parametrize("kind", KINDS)
async def test_transitions_are_version_gated(kind: str, opened, tmp_path) -> None:
    model = model_of("orders", tmp_path)
    store = await opened(kind, model)
    if isinstance(refused := store.answer(model.patterns["update_status"]), NotAnswerable):
        assert refused.reason  # declared, with the reason the report shows
        return
    ds = Dataset(model, 5, Sizes(20, SMALL["orders"]))
    roots = await _load(store, ds)
    move = store.answer(model.patterns["update_status"])
    key = roots[3]["id"]
    assert await move(Params(key=key, state="shipped", version=3)) is True
    assert await move(Params(key=key, state="pending", version=2)) is False  # older: never over a newer one
    assert await move(Params(key=key, state="pending", version=3)) is False  # the same version: applied once
    assert await move(Params(key="not-there", state="shipped", version=9)) is False
    record = await store.read(model.root, key)
    assert (record["status"], record["version"]) == ("shipped", 3)


@pytest.mark.parametrize("kind", KINDS)
async def test_a_transition_from_named_states_applies_only_from_them(kind: str, opened, tmp_path) -> None:
    model = model_of("orders", tmp_path)
    store = await opened(kind, model)
    pay = store.answer(model.patterns["pay"])
    if isinstance(pay, NotAnswerable):
        assert pay.reason
        return
    ds = Dataset(model, 5, Sizes(60, SMALL["orders"]))
    roots = await _load(store, ds)
    pending = next(r for r in roots if r["status"] == "pending")
    shipped = next(r for r in roots if r["status"] == "shipped")
    assert await pay(Params(key=pending["id"], state="confirmed", version=2)) is True
    assert await pay(Params(key=shipped["id"], state="confirmed", version=2)) is False  # not pending: refused
    assert (await store.read(model.root, shipped["id"]))["status"] == "shipped"


@pytest.mark.parametrize("kind", KINDS)
async def test_decrements_never_pass_the_floor_under_contention(kind: str, opened, tmp_path) -> None:
    model = model_of("bookings", tmp_path)
    store = await opened(kind, model)
    take = store.answer(model.patterns["take_seat"])
    if isinstance(take, NotAnswerable):
        assert take.reason
        return
    ds = Dataset(model, 5, Sizes(10, SMALL["bookings"]))
    await _load(store, ds)
    slot = ds.reference["slot"][0]
    tries = slot["capacity"] + 12
    results = await asyncio.gather(*(take(Params(targets=((slot["id"], 1),))) for _ in range(tries)))
    remaining = (await store.read("slot", slot["id"]))["remaining"]
    assert remaining == slot["capacity"] - sum(results) >= 0  # every applied one counted, never below the floor
    if refuses_under_contention(take):  # optimistic: a lost race is a refusal; alone, each applies while it can
        assert sum(results) >= 1
        assert [await take(Params(targets=((slot["id"], 1),))) for _ in range(remaining + 2)] == \
            [True] * remaining + [False, False]
    else:
        assert sum(results) == slot["capacity"]
        assert remaining == 0
    orders = model_of("orders", tmp_path)
    store2 = await opened(kind, orders)
    take2 = store2.answer(orders.patterns["take_stock"])
    if isinstance(take2, NotAnswerable):  # several targets, all or none: needs what the store may not have
        assert take2.reason
        return
    ods = Dataset(orders, 5, Sizes(10, SMALL["orders"]))
    await _load(store2, ods)
    p0, p1 = ods.reference["product"][0], ods.reference["product"][1]
    # all or none: the second target is short, so the first is not taken either
    assert await take2(Params(targets=((p0["id"], 1), (p1["id"], p1["inventory_count"] + 1)))) is False
    assert (await store2.read("product", p0["id"]))["inventory_count"] == p0["inventory_count"]
    assert await take2(Params(targets=((p0["id"], 2), (p1["id"], 1)))) is True
    assert (await store2.read("product", p0["id"]))["inventory_count"] == p0["inventory_count"] - 2


@pytest.mark.parametrize("kind", KINDS)
async def test_increments_count_every_call(kind: str, opened, tmp_path) -> None:
    model = model_of("social", tmp_path)
    store = await opened(kind, model)
    like = store.answer(model.patterns["like"])
    if isinstance(like, NotAnswerable):
        assert like.reason
        return
    ds = Dataset(model, 5, Sizes(10, SMALL["social"]))
    roots = await _load(store, ds)
    results = await asyncio.gather(*(like(Params(key=roots[2]["id"], amount=1)) for _ in range(25)),
                                   return_exceptions=refuses_under_contention(like))
    applied = [r for r in results if not isinstance(r, Conflict)]
    assert all(isinstance(r, int) for r in applied), results  # a refusal is a Conflict, nothing else
    assert sorted(applied) == list(range(1, len(applied) + 1))  # each applied call saw its own new value
    assert (await store.read(model.root, roots[2]["id"]))["likes"] == len(applied)
    if refuses_under_contention(like):
        assert applied
    else:
        assert len(applied) == 25
    assert await like(Params(key="no-such-post", amount=1)) is None


@pytest.mark.parametrize("kind", KINDS)
async def test_prepare_refuses_an_existing_namespace_and_teardown_drops_only_its_own(kind: str, opened,
                                                                                    tmp_path) -> None:
    model = model_of("library", tmp_path)
    first = await opened(kind, model)
    if not _suited(first, model):
        pytest.skip(f"{kind} does not hold library")
    ds = Dataset(model, 1, Sizes(5))
    await first.prepare(ds)
    second = await opened(kind, model, namespace=first.namespace)
    with pytest.raises(NamespaceExists):
        await second.prepare(ds)
    await second.teardown()  # prepared nothing: drops nothing
    await first.write(ds.root(0))
    assert await first.read(model.root, ds.root(0)[model.root_entity.key]) is not None


@pytest.mark.parametrize("kind", KINDS)
async def test_upsert_applies_newer_versions_only(kind: str, opened, tmp_path) -> None:
    model = model_of("orders", tmp_path)
    store = await opened(kind, model)
    if not isinstance(store, Upsert):
        return  # no upsert: strategies fed by a relay leave this store out, saying so
    ds = Dataset(model, 2, Sizes(3, SMALL["orders"]))
    await store.prepare(ds)
    order = ds.root(1)
    assert await store.upsert(order, 1) is True
    assert await store.upsert({**order, "status": "shipped"}, 3) is True
    assert await store.upsert({**order, "status": "pending"}, 2) is False
    assert await store.upsert({**order, "status": "shipped"}, 3) is False
    assert (await store.read(model.root, order["id"]))["status"] == "shipped"
