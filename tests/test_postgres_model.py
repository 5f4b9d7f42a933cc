"""PostgreSQL's model store beyond the shared contract: the jsonb variant held to the same contract, and what
only the server can show (statements per write from pg_stat_statements, the CHECKs and keys the design
derives, all-or-none decrements without deadlocks under contention), on the real server."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from sandbox.stores.contract import NotAnswerable, Params
from sandbox.workload.dataset import Dataset, Sizes
from sandbox.workload.model_file import load
from tests import test_model_contract as contract
from tests.test_model_contract import SHIPPED, SMALL, opened  # noqa: F401  (the fixture)

MODELS = Path(__file__).parent.parent / "models"
JSONB = "postgres:jsonb"
BOTH = ["postgres", JSONB]


@pytest.mark.parametrize("model_name", [*SHIPPED, "library"])
async def test_jsonb_reads_back_and_scans_exactly(model_name: str, opened, tmp_path) -> None:  # noqa: F811
    await contract.test_written_instances_read_back_and_scan_exactly(JSONB, model_name, opened, tmp_path)


@pytest.mark.parametrize("model_name", [*SHIPPED, "library"])
async def test_jsonb_answers_every_read_pattern(model_name: str, opened, tmp_path) -> None:  # noqa: F811
    await contract.test_every_read_pattern_is_answered_right_or_declared_unanswerable(JSONB, model_name, opened,
                                                                                      tmp_path)


@pytest.mark.parametrize("check", ["test_transitions_are_version_gated",
                                   "test_decrements_never_pass_the_floor_under_contention",
                                   "test_increments_count_every_call",
                                   "test_prepare_refuses_an_existing_namespace_and_teardown_drops_only_its_own",
                                   "test_upsert_applies_newer_versions_only"])
async def test_jsonb_keeps_the_write_contract(check: str, opened, tmp_path) -> None:  # noqa: F811
    await getattr(contract, check)(JSONB, opened, tmp_path)


@pytest.mark.parametrize("kind", BOTH)
async def test_every_shipped_pattern_is_answered(kind: str, opened, tmp_path) -> None:  # noqa: F811
    for name in [*SHIPPED, "library"]:
        model = contract.model_of(name, tmp_path)
        store = await opened(kind, model)
        refused = {p.name: a.reason for p in model.patterns.values()
                   if isinstance(a := store.answer(p), NotAnswerable)}
        assert refused == {}, f"{kind} {name}"


async def _statements(store: Any) -> dict[str, int]:
    """calls per statement in this database, from pg_stat_statements (utility statements like BEGIN, RESET ALL
    too), but for these look-ups themselves."""
    rows = await store.pool.fetch(
        "SELECT query, calls FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = "
        "current_database()) AND query NOT LIKE '%pg_stat_statements%'")
    return {r[0]: r[1] for r in rows}


@pytest.mark.parametrize("kind", BOTH)
async def test_a_write_is_one_statement_and_so_is_a_batch(kind: str, opened) -> None:  # noqa: F811
    model = load(MODELS / "orders.toml")
    store = await opened(kind, model)
    try:
        await store.pool.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        await store.pool.fetchval("SELECT count(*) FROM pg_stat_statements")
    except asyncpg.PostgresError as exc:
        pytest.fail(f"pg_stat_statements is not loaded ({exc}); the native stack preloads it")
    ds = Dataset(model, 3, Sizes(61, SMALL["orders"]))
    await store.prepare(ds)
    await store.write(ds.root(0))  # a new connection's first statements: asyncpg looks up the array types once
    await store.write_batch([ds.root(60)])
    before = await _statements(store)
    for inst in ds.roots(1, 40):
        await store.write(inst)
    after = await _statements(store)
    grown = {q: n - before.get(q, 0) for q, n in after.items() if n != before.get(q, 0)}
    assert list(grown.values()) == [39], grown  # one INSERT per order, items included; no BEGIN, no RESET ALL
    await store.write_batch(list(ds.roots(40, 60)))
    batch = {q: n - after.get(q, 0) for q, n in (await _statements(store)).items() if n != after.get(q, 0)}
    # normalized: one INSERT ... unnest() per table in one statement (children in CTEs); jsonb: one COPY
    assert list(batch.values()) == [1], batch
    assert next(iter(batch)).startswith("WITH k0 AS (INSERT" if kind == "postgres" else "COPY"), batch
    assert await store.read("order", ds.root(59)["id"]) is not None


async def test_the_normalized_design_enforces_the_models_invariants(opened) -> None:  # noqa: F811
    model = load(MODELS / "orders.toml")
    store = await opened("postgres", model)
    ds = Dataset(model, 4, Sizes(3, SMALL["orders"]))
    await store.prepare(ds)
    order = ds.root(0)
    with pytest.raises(asyncpg.CheckViolationError, match="total_amount_derived"):
        await store.write({**order, "total_amount": order["total_amount"] + 1})
    with pytest.raises(asyncpg.CheckViolationError, match="quantity_positive"):
        await store.write({**order, "items": [{**order["items"][0], "quantity": 0}]})
    with pytest.raises(asyncpg.ForeignKeyViolationError):
        await store.write({**order, "customer_id": "00000000-0000-4000-8000-000000000000"})
    await store.write(order)
    with pytest.raises(asyncpg.UniqueViolationError):  # order_number is unique
        await store.write({**ds.root(1), "order_number": order["order_number"]})
    assert await store.read("order", ds.root(1)["id"]) is None  # the failed statement left no items behind
    n = await store.pool.fetchval(f'SELECT count(*) FROM "{store.namespace}".order_items')
    assert n == len(order["items"])


@pytest.mark.parametrize("kind", BOTH)
async def test_overlapping_decrements_in_any_order_never_deadlock_nor_take_part(kind: str, opened) -> None:  # noqa: F811
    model = load(MODELS / "orders.toml")
    store = await opened(kind, model)
    ds = Dataset(model, 6, Sizes(2, {"customer": 5, "product": 6}))
    await store.prepare(ds)
    products = ds.reference["product"]
    take = store.answer(model.patterns["take_stock"])
    stock = {p["id"]: p["inventory_count"] for p in products}
    rng = random.Random(1)
    calls = []
    for _ in range(60):  # each call takes from 2-4 of the 6 products, listed in a random order
        picked = rng.sample(list(stock), rng.randint(2, 4))
        calls.append(tuple((k, rng.randint(1, 60)) for k in picked))
    results = await asyncio.wait_for(asyncio.gather(*(take(Params(targets=c)) for c in calls)), 60)
    taken = {k: 0 for k in stock}
    for ok, c in zip(results, calls, strict=True):
        for k, n in c if ok else ():
            taken[k] += n
    for k, n in stock.items():
        left = (await store.read("product", k))["inventory_count"]
        assert left == n - taken[k] and left >= 0, (k, n, taken[k], left)
    assert any(results) and not all(results)  # some took, some found too little: both paths ran


@pytest.mark.parametrize("kind", BOTH)
async def test_raw_corrupt_and_remove_change_what_the_store_reads_back(kind: str, opened, live) -> None:  # noqa: F811
    from tests.raw import Raw

    model = load(MODELS / "orders.toml")
    store = await opened(kind, model)
    ds = Dataset(model, 8, Sizes(3, SMALL["orders"]))
    await store.prepare(ds)
    for inst in ds.roots():
        await store.write(inst)
    first, second = ds.root(0), ds.root(1)
    status = "refunded" if first["status"] != "refunded" else "pending"
    async with Raw("postgres", live) as raw:
        await raw.corrupt(store, "order", first["id"], "status", status)
        await raw.corrupt(store, "order", first["id"], "created_at", second["created_at"])
        await raw.remove(store, "order", second["id"])
    got = await store.read("order", first["id"])
    assert (got["status"], got["created_at"]) == (status, second["created_at"])
    assert got["items"] == first["items"] and got["total_amount"] == first["total_amount"]
    assert await store.read("order", second["id"]) is None
    assert {r["id"] async for r in store.scan("order")} == {first["id"], ds.root(2)["id"]}
