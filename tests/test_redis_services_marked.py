"""The Redis services of the event-driven runs (inventory, read model; stores/redis/services.py) mark their
namespace before their first key, so `sandbox gc` finds and drops what a killed run left on Redis even when the
order service's store is another server; teardown removes the marker only when nothing else of the namespace is
left. On the shared stack's real Redis."""

from __future__ import annotations

from decimal import Decimal

import pytest

from sandbox.config import Settings, endpoint
from sandbox.stores.redis.markers import RedisMarkers
from sandbox.stores.redis.services import RedisInventory, RedisReadModel
from tests.helpers import new_namespace

pytestmark = pytest.mark.stores("redis")


async def _keys(service: RedisInventory | RedisReadModel) -> list[str]:
    return sorted([k async for k in service.client.scan_iter(match=f"{service.namespace}:*", count=1000)])


async def test_a_service_left_behind_is_found_and_dropped_by_gc(live: Settings) -> None:
    ns = new_namespace()
    inventory = RedisInventory(endpoint(live, "redis"), ns)
    try:
        await inventory.load({"p1": 3})
        assert await inventory.reserve("o1", [("p1", 1)]) == "reserved"
        found = await RedisMarkers().find(inventory)  # as `sandbox gc` sees the server after a kill
        [marker] = [m for m in found.marked if m.namespace == ns]
        assert ns not in found.unmarked
        await RedisMarkers().drop(inventory, marker)
        assert await _keys(inventory) == []
    finally:
        await inventory.teardown()
        await inventory.close()


async def test_teardown_keeps_the_marker_while_the_namespace_holds_more(live: Settings) -> None:
    ns = new_namespace()
    inventory, view = RedisInventory(endpoint(live, "redis"), ns), RedisReadModel(endpoint(live, "redis"), ns)
    try:
        await inventory.load({"p1": 3})
        await view.create()
        await view.apply("e1", "c1", Decimal("1.50"), idempotent=True)
        await inventory.teardown()
        assert f"{ns}:_sandbox_marker" in await _keys(view)  # the read model's keys are still there
        await view.teardown()
        assert await _keys(view) == []
    finally:
        for service in (inventory, view):
            await service.close()
