"""The event-driven services on the shared stack's real servers (PostgreSQL for the order service, Redis for the
inventory, the read model and Redis Streams): every event applied, none lost, every saga legal, both ways out of
the database; change data capture loses nothing under concurrent writers; a member that goes away leaves its
deliveries to another."""

from __future__ import annotations

import asyncio
import json
import secrets
from pathlib import Path

import pytest

from sandbox.config import Settings, endpoint
from sandbox.experiments.events.pipeline import Tuning
from sandbox.experiments.events.run import Knobs, Roles, run_trial
from sandbox.experiments.events.services import SagaRules
from sandbox.stores import make_model_store
from sandbox.stores.events import Event
from sandbox.stores.registry import registry_of
from sandbox.workload.dataset import Dataset, Sizes
from sandbox.workload.model_file import load
from tests.helpers import PROJECT, admin_url, new_namespace, sandbox

pytestmark = pytest.mark.stores("postgres", "redis")
MODEL = load(PROJECT / "models" / "orders.toml")


def knobs(**rules: object) -> Knobs:
    return Knobs(SagaRules(**rules), Tuning(consumers=2), concurrency=4, settle_s=40.0, stock_cap=15)  # type: ignore[arg-type]


@pytest.mark.parametrize("capture", ["outbox", "cdc"])
async def test_every_event_is_applied_once_and_every_saga_ends_legally(live: Settings, capture: str) -> None:
    data = Dataset(MODEL, 7, Sizes(60))
    # A slot needs REPLICATION, which the run's login lacks: the capture logs in as the stack's administrator.
    roles = Roles("postgres", "redis", "redis", "redis", capture,
                  capture_url=admin_url(live, "postgres") if capture == "cdc" else "")
    trial = await run_trial(live, data, roles, knobs(), new_namespace())
    assert trial.settled, trial.errors
    counts = trial.reconciled.counts
    assert counts.get("lost", 0) == 0 and counts.get("in flight", 0) == 0, trial.reconciled.examples
    assert counts["applied"] + counts.get("duplicated", 0) == trial.reconciled.expected
    assert trial.saga.findings == [], trial.saga.examples
    ends = trial.saga.ends
    assert ends["confirmed"] and ends["compensated"] and sum(ends.values()) == 60  # both paths of the saga ran
    hops = trial.ledger.hop_summary()
    assert all(hops[h]["n"] >= 120 for h in ("capture", "publish")), hops  # 60 placed + 60 confirmed/cancelled


async def test_change_capture_misses_nothing_under_concurrent_writers(live: Settings) -> None:
    """A COMMIT row's lsn is its record's end; confirming one byte past it lost adjacent transactions."""
    n = 200
    data = Dataset(MODEL, 3, Sizes(n))
    store = make_model_store(live, "postgres", new_namespace(), MODEL, connections=10)
    await store.connect()
    await store.prepare(data)
    source = registry_of(live).kind("postgres").roles["event_source"]
    # A slot needs REPLICATION, which the run's login lacks: the capture logs in as the stack's administrator.
    outbox, capture = source.outbox(store), source.capture(store, admin_url(live, "postgres"))
    try:
        await outbox.create()
        await capture.open()
        seen: list[str] = []
        todo = list(range(n))

        async def writer() -> None:
            while todo:
                i = todo.pop()
                await outbox.write_with_events(data.root(i), [Event(f"e{i}", "order.placed", f"k{i}", 1)])

        async def reader(stop: asyncio.Event) -> None:
            while True:
                events, position = await capture.peek(50)
                seen.extend(s.event.id for s in events)
                await capture.confirm(position)
                if stop.is_set() and not events:
                    return

        stop = asyncio.Event()
        task = asyncio.create_task(reader(stop))
        await asyncio.gather(*(writer() for _ in range(8)))
        stop.set()
        await task
        assert sorted(seen) == sorted(f"e{i}" for i in range(n))  # each once, none missing
        assert await capture.retained_bytes() >= 0
    finally:
        await capture.close()
        await store.teardown()
        await store.close()


async def test_a_member_that_went_away_leaves_its_deliveries_to_another(live: Settings) -> None:
    kind = registry_of(live).kind("redis")
    broker = kind.roles["broker"](endpoint(live, "redis"), f"sbx_test_{secrets.token_hex(4)}",
                                  {"max_deliveries": 2, "claim_idle_ms": 100})
    await broker.connect()
    try:
        await broker.declare({"t": ["g"]})
        await broker.publish("t", Event("e1", "x", "k", 1))
        gone, other = broker.consumer("t", "g", "gone"), broker.consumer("t", "g", "other")
        first = await gone.fetch(10, 0.5)
        assert [d.attempt for d in first] == [1]
        await gone.close()  # never acked: pending in the group
        assert await broker.lag("t", "g") == 1
        await asyncio.sleep(0.2)
        again = await other.fetch(10, 0.5)
        assert [(Event.decode(d.body).id, d.attempt) for d in again] == [("e1", 2)]
        assert await other.retry(again[0])  # tried max_deliveries times: dead-lettered
        assert [Event.decode(b).id for b in await broker.dead_letters()] == ["e1"]
        assert await broker.lag("t", "g") == 0
    finally:
        await broker.teardown()
        await broker.close()


def test_a_migration_blocks_the_inventory_service_only_on_a_shared_database(tmp_path: Path) -> None:
    proc = sandbox("run", "shared-database", "--orders", "120", "--seed", "3", "-p", "hold_s=3.0",
                   env={"SANDBOX_RESULTS_DIR": str(tmp_path)}, timeout=400)
    assert proc.returncode == 0, proc.stdout[-1500:] + proc.stderr
    own, shared = json.loads(next(tmp_path.glob("*/summary.json")).read_text())["events"]["trials"]
    assert (own["layout"], shared["layout"]) == ("database-per-service", "shared-database")
    for t in (own, shared):
        assert t["faults"][0]["fault"] == "migration" and t["faults"][0]["blocked_max"] >= 1  # the order service
        assert t["reconciled"]["counts"].get("lost", 0) == 0 and not t["saga"]["ends"].get("illegal")
    # Its own store: the inventory service never waits on the order service's 3 s lock; on the shared one it does
    # (1.5 s between them: a loaded host's slowest apply stays well under it, a wait on the lock well over).
    assert own["group_apply_ms"]["inventory"]["max"] < 1500 < shared["group_apply_ms"]["inventory"]["max"]
