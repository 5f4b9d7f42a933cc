"""The pure logic of consistency under faults: outcome folding, classification, history file, visibility
rule, fault and durability parsing. No servers needed."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest

from sandbox.errors import UsageError
from sandbox.measure.checker import (
    FINDINGS,
    Verdict,
    check_store,
    classify_absent,
    classify_present,
    classify_store,
)
from sandbox.measure.history import OpHistory, WriteOutcome, WriteOutcomes, outcome_of, read_history
from sandbox.measure.timing import OpEvent
from sandbox.measure.visibility import VisibilityProbe
from sandbox.scenario.spec import RunParams
from sandbox.stack.durability_profiles import parse_profile, parse_profiles
from sandbox.stack.faults import parse_faults
from sandbox.stores.registry import StoreRegistry
from sandbox.workload.model import OrderRecord


def record(order_id: str, total: str = "10.00", status: str = "pending") -> OrderRecord:
    return OrderRecord(order_id, status, Decimal(total), 1, "c1", "standard", f"ORD-{order_id}")


async def stream(*records: OrderRecord) -> AsyncIterator[OrderRecord]:
    for r in records:
        yield r


def event(outcome: str, keys: tuple[str, ...] = ("a",), error: str | None = None, op: str = "write",
          end_ns: int = 200) -> OpEvent:
    return OpEvent("redis", op, keys, 100, end_ns, outcome, error)  # type: ignore[arg-type]


@pytest.mark.parametrize(("outcome", "error", "expected"), [
    ("ok", None, WriteOutcome.ACKNOWLEDGED),
    ("fail", "ResponseError: WRONGTYPE", WriteOutcome.FAILED),
    ("info", "TimeoutError: ", WriteOutcome.TIMED_OUT),
    ("info", "ServerSelectionTimeoutError: no servers", WriteOutcome.TIMED_OUT),
    ("info", "ConnectionError: Connection refused", WriteOutcome.CONNECTION_LOST),
    ("info", "ConnectionResetError: [Errno 104]", WriteOutcome.CONNECTION_LOST),
])
def test_outcome_of_event(outcome: str, error: str | None, expected: WriteOutcome) -> None:
    assert outcome_of(event(outcome, error=error)) == expected


def test_attempts_fold_to_the_strongest_outcome() -> None:
    outcomes = WriteOutcomes()
    outcomes.note("redis", ("a", "b", "c"), WriteOutcome.TIMED_OUT)
    outcomes.note("redis", ("a",), WriteOutcome.ACKNOWLEDGED)  # a retry was acknowledged
    outcomes.note("redis", ("a",), WriteOutcome.FAILED)  # a later failure does not undo it
    outcomes.note("redis", ("b",), WriteOutcome.CONNECTION_LOST)
    outcomes.note("redis", ("c",), WriteOutcome.FAILED)
    assert outcomes.of("redis") == {"a": WriteOutcome.ACKNOWLEDGED, "b": WriteOutcome.CONNECTION_LOST,
                                    "c": WriteOutcome.TIMED_OUT}
    assert outcomes.counts("redis") == {"failed": 0, "timed_out": 1, "connection_lost": 1, "acknowledged": 1}
    assert outcomes.of("mongo") == {}


@pytest.mark.parametrize(("outcome", "differs", "expected"), [
    (WriteOutcome.ACKNOWLEDGED, False, Verdict.OK),
    (WriteOutcome.ACKNOWLEDGED, True, Verdict.DIVERGENT),
    (WriteOutcome.FAILED, False, Verdict.FAILED_BUT_PRESENT),
    (WriteOutcome.TIMED_OUT, False, Verdict.TIMED_OUT_BUT_PRESENT),
    (WriteOutcome.CONNECTION_LOST, False, Verdict.UNKNOWN_THEN_PRESENT),
    (WriteOutcome.CONNECTION_LOST, True, Verdict.DIVERGENT),
    (None, False, Verdict.UNEXPECTED),
])
def test_classify_present(outcome: WriteOutcome | None, differs: bool, expected: Verdict) -> None:
    assert classify_present(outcome, differs) == expected


@pytest.mark.parametrize(("outcome", "expected"), [
    (WriteOutcome.ACKNOWLEDGED, Verdict.LOST),
    (WriteOutcome.FAILED, Verdict.FAILED_AND_ABSENT),
    (WriteOutcome.TIMED_OUT, Verdict.FAILED_AND_ABSENT),
    (WriteOutcome.CONNECTION_LOST, Verdict.UNKNOWN_THEN_ABSENT),
    (None, Verdict.NOT_ATTEMPTED),
])
def test_classify_absent(outcome: WriteOutcome | None, expected: Verdict) -> None:
    assert classify_absent(outcome) == expected


def test_findings_are_what_misleads_a_client() -> None:
    assert set(FINDINGS) == {Verdict.LOST, Verdict.DIVERGENT, Verdict.FAILED_BUT_PRESENT,
                             Verdict.TIMED_OUT_BUT_PRESENT, Verdict.UNEXPECTED}


async def test_classify_store_covers_every_class() -> None:
    ids = ["ok", "lost", "div", "failp", "tmop", "unkp", "unka", "faila", "never"]
    expected = {i: record(i) for i in ids}
    outcomes = {"ok": WriteOutcome.ACKNOWLEDGED, "lost": WriteOutcome.ACKNOWLEDGED, "div": WriteOutcome.ACKNOWLEDGED,
                "failp": WriteOutcome.FAILED, "tmop": WriteOutcome.TIMED_OUT,
                "unkp": WriteOutcome.CONNECTION_LOST, "unka": WriteOutcome.CONNECTION_LOST,
                "faila": WriteOutcome.FAILED}
    held = stream(record("ok"), record("div", total="10.01"), record("failp"), record("tmop"), record("unkp"),
                  record("ok"), record("stranger"))
    result = await classify_store("redis", expected, outcomes, held, keep_ids=True)
    assert result.ids == {Verdict.OK: {"ok"}, Verdict.LOST: {"lost"}, Verdict.DIVERGENT: {"div"},
                          Verdict.FAILED_BUT_PRESENT: {"failp"}, Verdict.TIMED_OUT_BUT_PRESENT: {"tmop"},
                          Verdict.UNKNOWN_THEN_PRESENT: {"unkp"}, Verdict.UNKNOWN_THEN_ABSENT: {"unka"},
                          Verdict.FAILED_AND_ABSENT: {"faila"}, Verdict.NOT_ATTEMPTED: {"never"},
                          Verdict.UNEXPECTED: {"stranger"}}
    assert result.findings == 5 and result.has_findings
    assert result.to_json()["examples"]["lost"] == ["lost"]


async def test_all_acknowledged_and_present_has_no_findings() -> None:
    expected = {i: record(i) for i in "abc"}
    outcomes = dict.fromkeys("abc", WriteOutcome.ACKNOWLEDGED)
    result = await classify_store("pg", expected, outcomes, stream(*expected.values()))
    assert result.counts[Verdict.OK] == 3 and not result.has_findings


async def test_unreadable_store_is_reported_not_classified(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sandbox.measure.checker.READ_BACK_PAUSE_S", 0.0)

    async def broken() -> AsyncIterator[OrderRecord]:
        raise ConnectionRefusedError("nobody home")
        yield record("x")

    result = await check_store("redis", {"a": record("a")}, {}, broken)
    assert result.error is not None and "ConnectionRefusedError" in result.error
    assert result.has_findings and sum(result.counts.values()) == 0


def test_history_file_pairs_invoke_and_completion(tmp_path: Path) -> None:
    history = OpHistory(tmp_path / "h.jsonl")
    history.listener(event("ok", ("a", "b")))
    history.listener(event("info", ("c",), error="TimeoutError: "))
    history.listener(event("ok", ("a",), op="read"))
    history.note_fault("redis", "kill", "at write op 1")
    history.close()
    lines = read_history(tmp_path / "h.jsonl")
    assert lines[0]["type"] == "header"
    assert [(x["type"], x.get("op")) for x in lines[1:7]] == [("invoke", 0), ("ok", 0), ("invoke", 1), ("info", 1),
                                                             ("invoke", 2), ("ok", 2)]
    assert lines[1]["value"] == ["a", "b"] and lines[1]["time"] == history.relative_ns(100)
    assert lines[4]["error"] == "TimeoutError: "
    assert lines[7]["process"] == "nemesis" and lines[7]["f"] == "kill"
    # reads are in the file but do not count as write outcomes
    assert history.outcomes.of("redis") == {"a": WriteOutcome.ACKNOWLEDGED, "b": WriteOutcome.ACKNOWLEDGED,
                                            "c": WriteOutcome.TIMED_OUT}


async def test_visibility_rule_not_observable_when_every_sample_is_visible_at_once() -> None:
    seen: dict[str, int] = {}

    async def immediate(order_id: str) -> bool:
        return True

    async def after_three_probes(order_id: str) -> bool:
        seen[order_id] = seen.get(order_id, 0) + 1
        return seen[order_id] >= 3

    probe = VisibilityProbe({"pg": immediate, "es": after_three_probes}, {"pg": "PostgreSQL 15", "es": "ES 9"},
                            every=1, limit=5, timeout_s=5)
    for i in range(8):
        for store in ("pg", "es"):
            probe.listener(replace(event("ok", (f"o{i}",), end_ns=time.perf_counter_ns()), store=store))
    probe.listener(replace(event("fail", ("x",)), store="pg"))  # not acknowledged: never sampled
    await probe.finish()
    pg, es = probe.stats["pg"], probe.stats["es"]
    assert pg.sampled == 5 and not pg.observable
    assert pg.verdict().startswith("not observable here (server PostgreSQL 15)")
    assert pg.to_json()["lag_ms"] is None
    assert es.sampled == 5 and es.observable and es.visible_at_first_probe == 0
    assert es.to_json()["lag_ms"]["p50"] > 0


async def test_visibility_probe_gives_up_after_its_timeout() -> None:
    async def never(order_id: str) -> bool:
        return False

    probe = VisibilityProbe({"redis": never}, {"redis": "Redis"}, every=1, limit=1, timeout_s=0.05)
    probe.listener(event("ok", end_ns=time.perf_counter_ns()))
    async with asyncio.timeout(5):
        await probe.finish()
    assert probe.stats["redis"].never_visible == 1


STORES = ("postgres", "redis")


@pytest.mark.parametrize(("schedule", "message"), [
    ([{"store": "mongo", "action": "kill", "at_s": 1}], "not in this run"),
    ([{"store": "redis", "action": "explode", "at_s": 1}], "unknown action"),
    ([{"store": "redis", "action": "kill"}], "exactly one of"),
    ([{"store": "redis", "action": "kill", "at_s": 1, "at_op": 3}], "exactly one of"),
    ([{"store": "redis", "action": "kill", "at_op": 100}], "after the run ends"),
    ([{"store": "redis", "action": "kill", "at_s": -1}], "non-negative"),
    ([{"store": "redis", "action": "kill", "after_s": 1}], "no"),
    ([{"store": "redis", "action": "kill", "at_s": 1, "when": 2}], "unknown key"),
    ([], "expected a list"),
])
def test_bad_fault_schedules_are_usage_errors(schedule: list, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_faults(schedule, STORES, write_ops=100)


def test_good_fault_schedule() -> None:
    faults = parse_faults([{"store": "redis", "action": "kill", "at_op": 10},
                           {"store": "redis", "action": "restart", "after_s": 2.5}], STORES, 100)
    assert [(f.action, f.when()) for f in faults] == [("kill", "at write op 10"),
                                                      ("restart", "2.5 s after the previous fault")]


def test_durability_profiles() -> None:
    kinds = StoreRegistry.built_in()
    default, relaxed = parse_profiles("default|redis.appendonly=no,postgres.synchronous_commit=off", kinds)
    assert default.durability.changes == {}
    assert relaxed.durability.changes == {"redis.appendonly": False, "postgres.synchronous_commit": "off"}
    assert relaxed.durability.server(kinds.kind("postgres")) == {"fsync": True, "synchronous_commit": "off"}
    assert relaxed.describe(kinds, "redis") == "appendonly=no"
    mongo = parse_profile("mongo.write_concern=w1j", kinds)
    assert mongo.describe(kinds, "mongo").endswith("write concern w1j")
    assert mongo.client_options(kinds, "mongo") == {"mongo_write_concern": "w1j"}
    for bad, message in (("redis.appendonly=maybe", "expected one of"), ("elastic.translog=async", "unknown setting"),
                         ("redis.appendonly", "store.setting=value")):
        with pytest.raises(UsageError, match=message):
            parse_profile(bad, kinds)


def test_outage_validator_rejects_a_store_not_in_the_run() -> None:
    from tests.helpers import validate_phase

    run = RunParams(orders=100, stores=("postgres", "mongo"))
    with pytest.raises(UsageError, match="store 'redis' is not in this run"):
        validate_phase("outage", {"store": "redis"}, run)
    with pytest.raises(UsageError, match="after the run ends"):
        validate_phase("outage", {"store": "mongo", "at_op": 100}, run)
    validate_phase("outage", {"store": "mongo", "at_op": 99}, run)
