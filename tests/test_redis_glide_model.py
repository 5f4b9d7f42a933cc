"""The Redis model store through valkey-glide (`-o redis.client=valkey-glide`): the same keys, scripts and answers
as through redis-py, on the real server."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox.config import Settings
from sandbox.stores import make_model_store
from sandbox.stores.contract import NotAnswerable
from sandbox.stores.markers import Marker
from sandbox.stores.redis.markers import RedisMarkers
from sandbox.workload import model_file
from sandbox.workload.dataset import Dataset, Sizes
from sandbox.workload.params import ReadParams
from tests.helpers import PROJECT, new_namespace

pytestmark = pytest.mark.stores("redis")
ORDERS = model_file.load(PROJECT / "models" / "orders.toml")
DATA = Dataset(ORDERS, 21, Sizes(60, {"customer": 20, "product": 15}))
PATTERNS = ("get_order", "orders_by_status", "latest_orders", "orders_between", "revenue_by_status")


async def loaded(settings: Settings, client: str, opened: list[Any]) -> tuple[Any, dict[str, Any]]:
    store = make_model_store(settings, "redis", new_namespace(), ORDERS, chosen={"redis.client": client})
    opened.append(store)
    server = await store.connect()
    await store.prepare(DATA)
    roots = list(DATA.roots())
    await store.write_batch(roots[:30])
    for inst in roots[30:]:
        await store.write(inst)
    answers: dict[str, Any] = {"server": server.detail,
                               "scan": sorted([str(r["id"]) async for r in store.scan("order")])}
    answers["read"] = await store.read("order", roots[7]["id"])
    for name in PATTERNS:
        answer = store.answer(ORDERS.patterns[name])
        assert not isinstance(answer, NotAnswerable), answer
        draw = ReadParams(DATA, ORDERS.patterns[name], seed=5)
        answers[name] = [await answer(draw.next(60)) for _ in range(5)]
    return store, answers


async def test_glide_writes_and_answers_as_redis_py_does(live: Settings) -> None:
    opened: list[Any] = []
    try:
        _, py = await loaded(live, "redis-py", opened)
        glide_store, glide = await loaded(live, "valkey-glide", opened)
        assert "valkey-glide" in glide.pop("server") and "valkey-glide" not in py.pop("server")
        assert len(glide["scan"]) == 60 and glide == py
        markers = RedisMarkers()
        await markers.mark(glide_store, Marker.new(glide_store.namespace, "glide"))
        found = await markers.find(glide_store)
        assert glide_store.namespace in {m.namespace for m in found.marked}
        assert await glide_store.client.set(f"{glide_store.namespace}:meta", "x", nx=True) is None  # claimed
    finally:
        for store in opened:
            try:
                await store.teardown()
            finally:
                await store.close()
