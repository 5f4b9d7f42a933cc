"""The events experiment's logic without servers: event ids and bodies, the reconciliation of every event id,
how a saga's end is judged, and bad input refused in one line before anything connects."""

from __future__ import annotations

from pathlib import Path

import pytest

from sandbox.config import Endpoint
from sandbox.experiments.events.services import SUBSCRIPTIONS, SagaRules, event_id, new_event
from sandbox.measure.event_ledger import Ledger, reconcile
from sandbox.measure.saga_check import check_sagas, end_of
from sandbox.stores.events import Event
from tests.helpers import BUILT_IN, PROJECT, assert_usage_error, check_jsonschema, load, sandbox


def test_an_event_survives_its_wire_form_and_a_republish_keeps_its_id() -> None:
    e = new_event("order.placed", "k1", 1, {"total": "10.00"}).at(commit=1.5)
    back = Event.decode(e.encode())
    assert back == e
    assert event_id("order.placed", "k1", 1) == e.id != event_id("order.placed", "k1", 2)


def ledger_with(published: dict[str, str], delivered: dict[tuple[str, str], int],
                applied: dict[tuple[str, str], int]) -> Ledger:
    ledger = Ledger()
    for event, topic in published.items():
        ledger.confirmed(topic, event, {}, 0.0)
    ledger.delivered.update(delivered)
    ledger.applied.update(applied)
    return ledger


def test_reconcile_tells_applied_duplicated_dead_in_flight_and_lost_apart() -> None:
    subs = {"t": ("g",)}
    ledger = ledger_with({"ok": "t", "dup": "t", "dead": "t", "gone": "t"},
                         {("g", "ok"): 1, ("g", "dup"): 2, ("g", "dead"): 3, ("g", "gone"): 1},
                         {("g", "ok"): 1, ("g", "dup"): 1})
    r = reconcile(ledger, ["ok", "dup", "dead", "gone", "never"], subs, ["dead"], in_flight=False,
                  applications={"x": 2, "y": 1})
    assert dict(r.counts) == {"applied": 1, "duplicated": 1, "dead-lettered": 1, "lost": 2}
    assert r.expected == 5 and r.duplicates_delivered == 3 and r.duplicates_applied == 1
    assert any("never published" in e for e in r.examples["lost"])
    # The same picture while something is still held somewhere: unapplied events are in flight, not lost.
    held = reconcile(ledger, ["gone"], subs, ["dead"], in_flight=True)
    assert held.counts == {"applied": 1, "duplicated": 1, "dead-lettered": 1, "in flight": 1}


def test_an_event_read_by_two_groups_is_expected_twice() -> None:
    ledger = ledger_with({"e": "orders"}, {("inventory", "e"): 1}, {("inventory", "e"): 1})
    r = reconcile(ledger, ["e"], SUBSCRIPTIONS, [], in_flight=False)
    assert r.expected == 2 and r.counts == {"applied": 1, "lost": 1}


def test_ordering_violations_are_counted_per_group_and_key() -> None:
    ledger = Ledger()
    ledger.done("g", "a", "k", 2, {}, 0.0, 0.0)
    ledger.done("g", "b", "k", 1, {}, 0.0, 0.0)  # older, after newer
    ledger.done("h", "c", "k", 1, {}, 0.0, 0.0)  # another group: its own order
    assert ledger.violations == {"g": 1}


@pytest.mark.parametrize(("status", "reservation", "fails", "dead", "end"), [
    ("confirmed", "reserved", False, False, "confirmed"),
    ("cancelled", "released", True, False, "compensated"),
    ("cancelled", "rejected", False, False, "rejected"),
    ("pending", None, False, True, "dead-lettered"),
    ("pending", "reserved", False, False, "unfinished"),
    ("confirmed", "reserved", True, False, "illegal"),  # paid although the payment fails
    ("cancelled", "reserved", True, False, "illegal"),  # cancelled, stock still held: no compensation
    ("confirmed", "released", False, False, "illegal"),
])
def test_saga_ends(status: str, reservation: str | None, fails: bool, dead: bool, end: str) -> None:
    assert end_of(status, reservation, fails, dead) == end


def test_a_compensation_half_way_when_the_run_stopped_is_unfinished_not_illegal() -> None:
    assert end_of("cancelled", "reserved", True, False, settled=False) == "unfinished"  # the release still due
    assert end_of("confirmed", "reserved", True, False, settled=False) == "illegal"  # paid although it fails


def test_stock_must_be_conserved() -> None:
    orders = {"a": 0, "b": 1}
    lines = {"a": [("p", 2)], "b": [("p", 3)]}
    ok = check_sagas(orders, lines, {"a": "confirmed", "b": "cancelled"}, {"a": "reserved", "b": "released"},
                     lambda i: i == 1, set(), {"p": 10}, {"p": 8})
    assert ok.findings == [] and ok.ends == {"confirmed": 1, "compensated": 1}
    short = check_sagas(orders, lines, {"a": "confirmed", "b": "cancelled"}, {"a": "reserved", "b": "released"},
                        lambda i: i == 1, set(), {"p": 10}, {"p": 5})
    assert short.findings and "stock not conserved" in short.findings[0]


def test_payment_failures_and_poison_follow_the_rules() -> None:
    rules = SagaRules(payment_fail_every=4, poison_every=10)
    assert [i for i in range(12) if rules.payment_fails(i)] == [3, 7, 11]
    assert [i for i in range(25) if rules.poisoned(i)] == [5, 15]
    assert not any(SagaRules(0, 0).payment_fails(i) for i in range(50))


@pytest.mark.parametrize(("args", "words"), [
    (["-p", 'brokers=["kafka"]'], ["unknown broker 'kafka'", "choose from"]),
    (["-p", "consumers=0"], ["consumers must be a whole number from 1 to 64", "got 0"]),
    (["-p", 'captures=["debezium"]'], ["captures must be a list of outbox and cdc"]),
    (["-p", "orders_db=redis"], ["redis cannot play orders_db"]),
    (["--model", "telemetry"], ["the orders model's", "--model telemetry has no such meaning"]),
])
def test_bad_events_input_is_one_line_and_exit_2(tmp_path: Path, args: list[str], words: list[str]) -> None:
    proc = sandbox("run", "events", "--orders", "10", *args, env={"SANDBOX_RESULTS_DIR": str(tmp_path / "r")})
    assert_usage_error(proc, *words)
    assert not (tmp_path / "r").exists()


def test_the_kafka_overlay_matches_the_compose_spec_offline() -> None:
    """Kafka is a compose overlay only (no Docker engine, no Kafka package here): checked against the spec."""
    proc = check_jsonschema(PROJECT / "compose" / "kafka.yml")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    service = load(PROJECT / "compose" / "kafka.yml")["services"]["kafka"]
    assert all(str(p).startswith("127.0.0.1:") for p in service["ports"])


@pytest.mark.parametrize("name", sorted(n for n, k in BUILT_IN.kinds.items() if "broker" in k.roles))
def test_every_broker_part_offers_the_broker_protocol(name: str) -> None:
    kind = BUILT_IN.kind(name)
    broker = kind.roles["broker"](Endpoint(name, "x://127.0.0.1:1"), "sbx_x", {"max_deliveries": 4,
                                                                                **kind.durability.defaults()})
    for method in ("connect", "declare", "publish", "publish_many", "consumer", "lag", "dead_letters", "describe",
                   "teardown", "close"):
        assert callable(getattr(broker, method)), f"{name}: no {method}"
    assert broker.name == name and broker.max_deliveries == 4


def test_brokers_are_started_with_the_stores_but_are_no_stores_of_a_run() -> None:
    brokers = {n for n, k in BUILT_IN.kinds.items() if "broker" in k.roles and n not in BUILT_IN.names}
    assert brokers == {"nats", "rabbitmq"}
    assert brokers <= set(BUILT_IN.started) and not brokers & set(BUILT_IN.names)


def test_a_broker_named_as_a_store_of_a_run_is_refused_in_one_line(tmp_path: Path) -> None:
    proc = sandbox("run", "orders", "--stores", "nats", "--orders", "10",
                   env={"SANDBOX_RESULTS_DIR": str(tmp_path / "r")})
    assert_usage_error(proc, "nats holds no domain model: it is a broker", "leave it out of --stores")
