"""What one write of the orders model costs each server, from the server's own counters (stores/*/stats.py's
calls counter): a single write is one statement / command / request, a batch one per batch where the server
counts requests. The shared test stack has no other clients while a test runs, so the change is this test's.
Stand-ins are held to what they count, or to saying that they count nothing."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox.stores.server_stats import ServerStats
from sandbox.workload.dataset import Dataset, Sizes
from tests.helpers import model as shipped

BATCH = 10


async def prepared(open_model_store: Any, name: str) -> tuple[Any, Dataset]:
    store = await open_model_store(name)
    data = Dataset(shipped(), 7, Sizes(BATCH + 4))
    await store.prepare(data)
    # First use: prepared statements, loaded scripts, type introspection (asyncpg's, once per statement).
    await store.write(data.root(0))
    await store.write_batch(list(data.roots(BATCH + 2, BATCH + 4)))
    return store, data


async def calls_of(store: Any, action: Any) -> dict[str, Any]:
    """The calls counter's change around `action`, less what two back-to-back snapshots add by themselves."""
    a: ServerStats = await store.server_stats()
    b: ServerStats = await store.server_stats()
    await action()
    c: ServerStats = await store.server_stats()
    idle, busy = b.since(a), c.since(b)
    if busy["calls"] is not None:
        busy["calls"] -= idle["calls"]
    return busy


@pytest.mark.parametrize("name", ["postgres", "influx"])
async def test_one_write_is_one_server_call(open_model_store: Any, name: str) -> None:
    store, data = await prepared(open_model_store, name)
    got = await calls_of(store, lambda: store.write(data.root(1)))
    assert got["calls"] == 1, (got["calls"], got["top_statements"], got["counters"])


@pytest.mark.parametrize("name", ["postgres", "influx"])
async def test_one_batch_is_one_server_call(open_model_store: Any, name: str) -> None:
    store, data = await prepared(open_model_store, name)
    got = await calls_of(store, lambda: store.write_batch(list(data.roots(2, 2 + BATCH))))
    assert got["calls"] == 1, (got["calls"], got["top_statements"], got["counters"])


def sent(counters: dict[str, float]) -> dict[str, float]:
    """Commands a client sent: EVALSHA, MULTI, EXEC... (commandstats counts the script's own commands too)."""
    return {k: v for k, v in counters.items() if k in ("cmdstat_evalsha.calls", "cmdstat_eval.calls",
                                                          "cmdstat_multi.calls", "cmdstat_exec.calls",
                                                          "cmdstat_script|load.calls")}


async def test_redis_write_is_one_script_call(open_model_store: Any) -> None:
    """A write is one EVALSHA; the commands its script runs are the server's, in the same call."""
    store, data = await prepared(open_model_store, "redis")
    got = await calls_of(store, lambda: store.write(data.root(1)))
    assert sent(got["counters"]) == {"cmdstat_evalsha.calls": 1}, got["counters"]


async def test_redis_batch_is_one_transaction(open_model_store: Any) -> None:
    """A batch is one pipelined MULTI/EXEC: one round trip, in which Redis counts MULTI, one EVALSHA per order
    and EXEC."""
    store, data = await prepared(open_model_store, "redis")
    got = await calls_of(store, lambda: store.write_batch(list(data.roots(2, 2 + BATCH))))
    got_sent = sent(got["counters"])
    scripts = got_sent.pop("cmdstat_evalsha.calls", 0) + got_sent.pop("cmdstat_eval.calls", 0)  # the first carries
    assert (scripts, got_sent) == (BATCH, {"cmdstat_multi.calls": 1, "cmdstat_exec.calls": 1}), got["counters"]


async def test_mongo_stand_in_counts_documents(open_model_store: Any) -> None:
    """The stand-in's opcounters (what it answers) count one insert per write, and one per insert_many of a
    batch (MongoDB's own count documents there: this is the stand-in's)."""
    store, data = await prepared(open_model_store, "mongo")
    one = await calls_of(store, lambda: store.write(data.root(1)))
    if one["calls"] is None:
        assert any("opcounters" in u for u in one["unavailable"]), one
        return
    assert one["calls"] == 1, one["counters"]
    batch = await calls_of(store, lambda: store.write_batch(list(data.roots(2, 2 + BATCH))))
    assert batch["calls"] == 1, batch["counters"]


async def test_elastic_says_it_cannot_be_audited(open_model_store: Any) -> None:
    store, data = await prepared(open_model_store, "elastic")
    got = await calls_of(store, lambda: store.write(data.root(1)))
    assert got["calls"] is None and got["calls_scope"].startswith("not counted"), got
