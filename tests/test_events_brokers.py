"""The real brokers on the shared stack (`make up` starts them): NATS JetStream and RabbitMQ carry the same saga
as Redis Streams with nothing lost and every saga legal; a member that went away leaves its deliveries to
another, a delivery that keeps failing ends in the dead letters; `sandbox status` names them."""

from __future__ import annotations

import asyncio
import secrets

import pytest

from sandbox.config import Settings, endpoint
from sandbox.experiments.events.pipeline import Tuning
from sandbox.experiments.events.run import Knobs, Roles, run_trial
from sandbox.experiments.events.services import SagaRules
from sandbox.stores.events import Event
from sandbox.stores.registry import registry_of
from sandbox.workload.dataset import Dataset, Sizes
from sandbox.workload.model_file import load
from tests.helpers import PROJECT, new_namespace, sandbox

MODEL = load(PROJECT / "models" / "orders.toml")
BROKERS = ["nats", "rabbitmq"]


@pytest.mark.stores("postgres", "redis")
@pytest.mark.parametrize("store", BROKERS)
async def test_the_saga_over_a_broker_loses_nothing(live: Settings, store: str) -> None:
    knobs = Knobs(SagaRules(poison_every=20), Tuning(consumers=2), concurrency=4, settle_s=40.0, stock_cap=15)
    trial = await run_trial(live, Dataset(MODEL, 11, Sizes(60)), Roles("postgres", "redis", "redis", store, "outbox"),
                            knobs, new_namespace())
    assert trial.settled, trial.errors
    counts = trial.reconciled.counts
    assert counts.get("lost", 0) == 0 and counts.get("in flight", 0) == 0, trial.reconciled.examples
    assert trial.saga.findings == [], trial.saga.examples
    # Every 20th order is poison for the inventory service: tried max_deliveries times, then dead-lettered.
    assert trial.saga.ends["dead-lettered"] == 3 and trial.dead_letters == 3
    assert trial.ledger.retried["inventory"] == 3 * 3


@pytest.mark.parametrize("store", BROKERS)
async def test_a_member_gone_leaves_its_delivery_to_another(live: Settings, store: str) -> None:
    kind = registry_of(live).kind(store)
    broker = kind.roles["broker"](endpoint(live, store), f"sbx_test_{secrets.token_hex(4)}",
                                  {"max_deliveries": 2, "ack_wait_s": 0.5, **kind.durability.defaults()})
    await broker.connect()
    try:
        await broker.declare({"t": ["g"]})
        await broker.publish("t", Event("e1", "x", "k", 1))
        gone = broker.consumer("t", "g", "gone")
        first = await gone.fetch(10, 2.0)
        assert [d.attempt for d in first] == [1]
        await gone.close()  # never acked
        other = broker.consumer("t", "g", "other")
        again: list = []
        for _ in range(20):  # NATS: after ack_wait; RabbitMQ: as soon as the channel closed
            again = await other.fetch(10, 0.5)
            if again:
                break
        assert [(Event.decode(d.body).id, d.attempt) for d in again] == [("e1", 2)]
        assert await other.retry(again[0])  # its max_deliveries-th try failed: dead-lettered
        await asyncio.sleep(0.3)
        assert [Event.decode(b).id for b in await broker.dead_letters()] == ["e1"]
        await other.close()
    finally:
        await broker.teardown()
        await broker.close()


@pytest.mark.stores("postgres", "redis", "nats", "rabbitmq")
def test_status_names_the_brokers_and_the_cdc_path() -> None:
    proc = sandbox("status")
    assert "NATS" in proc.stdout and "RabbitMQ" in proc.stdout, proc.stdout
    assert "wal_level=logical: change data capture possible" in proc.stdout  # the native launcher sets it
