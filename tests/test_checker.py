"""The pure logic of consistency under faults: outcome folding, classification by root key, history file,
visibility rule, recovery windows, fault and durability parsing. No servers needed."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from sandbox.errors import UsageError
from sandbox.experiments.faults.recovery import RecoveryWatch
from sandbox.measure.checker import (
    FINDINGS,
    Verdict,
    check_store,
    classify_absent,
    classify_present,
    classify_store,
    expected_for,
)
from sandbox.measure.history import OpHistory, WriteOutcome, WriteOutcomes, outcome_of, read_history
from sandbox.measure.timing import OpEvent
from sandbox.measure.visibility import VisibilityProbe
from sandbox.scenario.spec import RunParams
from sandbox.stack.durability_profiles import parse_profile, parse_profiles
from sandbox.stack.faults import parse_faults
from sandbox.stores.contract import Kept, Record
from sandbox.stores.registry import StoreRegistry
from sandbox.workload.dataset import Dataset, Sizes
from sandbox.workload.model_file import find, load
from tests.helpers import PROJECT

MODEL = load(find(PROJECT, "orders"))
KEPT = Kept(("id", "status", "total_amount"))  # what the stand-in store below keeps of an order


class Held:
    """A store that keeps three fields of an order (the checker needs only `kept`)."""

    def kept(self, entity: str) -> Kept:
        return KEPT


def as_held(instance: dict[str, Any], **changed: Any) -> Record:
    return {**{f: instance[f] for f in KEPT.fields}, **changed}


async def stream(*records: Record) -> AsyncIterator[Record]:
    for r in records:
        yield r


def event(outcome: str, keys: tuple[str, ...] = ("a",), error: str | None = None, op: str = "write",
          end_ns: int = 200, refused: bool = False) -> OpEvent:
    return OpEvent("redis", op, keys, 100, end_ns, outcome, error, refused=refused)  # type: ignore[arg-type]


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


async def test_classify_store_covers_every_class_by_root_key() -> None:
    roles = ["ok", "lost", "div", "failp", "tmop", "unkp", "unka", "faila", "never"]
    data = Dataset(MODEL, 5, Sizes(len(roles)))
    inst = {role: data.root(i) for i, role in enumerate(roles)}
    key = {role: str(i["id"]) for role, i in inst.items()}
    expected = expected_for(data, len(roles), {"redis": Held()})
    outcomes = {key[r]: o for r, o in (
        ("ok", WriteOutcome.ACKNOWLEDGED), ("lost", WriteOutcome.ACKNOWLEDGED), ("div", WriteOutcome.ACKNOWLEDGED),
        ("failp", WriteOutcome.FAILED), ("tmop", WriteOutcome.TIMED_OUT), ("unkp", WriteOutcome.CONNECTION_LOST),
        ("unka", WriteOutcome.CONNECTION_LOST), ("faila", WriteOutcome.FAILED))}
    stranger = as_held(Dataset(MODEL, 6, Sizes(1)).root(0))
    held = stream(as_held(inst["ok"]), as_held(inst["div"], status="cancelled"), as_held(inst["failp"]),
                  as_held(inst["tmop"]), as_held(inst["unkp"]), as_held(inst["ok"]), stranger)
    result = await classify_store("redis", expected, outcomes, held, keep=tuple(Verdict))
    assert result.ids == {Verdict.OK: {key["ok"]}, Verdict.LOST: {key["lost"]}, Verdict.DIVERGENT: {key["div"]},
                          Verdict.FAILED_BUT_PRESENT: {key["failp"]}, Verdict.TIMED_OUT_BUT_PRESENT: {key["tmop"]},
                          Verdict.UNKNOWN_THEN_PRESENT: {key["unkp"]}, Verdict.UNKNOWN_THEN_ABSENT: {key["unka"]},
                          Verdict.FAILED_AND_ABSENT: {key["faila"]}, Verdict.NOT_ATTEMPTED: {key["never"]},
                          Verdict.UNEXPECTED: {str(stranger["id"])}}
    assert result.findings == 5 and result.has_findings and result.present == 6
    assert result.to_json()["examples"]["lost"] == [key["lost"]]


async def test_only_asked_classes_keep_every_key_and_a_short_prefix_is_not_attempted() -> None:
    data = Dataset(MODEL, 5, Sizes(6))
    expected = expected_for(data, 6, {"pg": Held()})
    keys = [str(data.root(i)["id"]) for i in range(6)]
    outcomes = dict.fromkeys(keys[:3], WriteOutcome.ACKNOWLEDGED)  # only 3 were sent to this store
    result = await classify_store("pg", expected, outcomes, stream(as_held(data.root(0))), keep=(Verdict.LOST,),
                                  sent=3)
    assert result.ids == {Verdict.LOST: set(keys[1:3])}
    assert result.counts[Verdict.OK] == 1 and result.counts[Verdict.NOT_ATTEMPTED] == 3


async def test_all_acknowledged_and_present_has_no_findings() -> None:
    data = Dataset(MODEL, 5, Sizes(3))
    expected = expected_for(data, 3, {"pg": Held()})
    outcomes = {str(i["id"]): WriteOutcome.ACKNOWLEDGED for i in data.roots()}
    result = await classify_store("pg", expected, outcomes, stream(*(as_held(i) for i in data.roots())))
    assert result.counts[Verdict.OK] == 3 and not result.has_findings


async def test_unreadable_store_is_reported_not_classified(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sandbox.measure.checker.READ_BACK_PAUSE_S", 0.0)
    data = Dataset(MODEL, 5, Sizes(1))

    async def broken() -> AsyncIterator[Record]:
        raise ConnectionRefusedError("nobody home")
        yield {}

    result = await check_store("redis", expected_for(data, 1, {"redis": Held()}), {}, broken)
    assert result.error is not None and "ConnectionRefusedError" in result.error
    assert result.has_findings and sum(result.counts.values()) == 0


def test_recovery_windows_around_an_outage() -> None:
    """Writes before the kill, refused and unknown while down, the first ack after the restart, and after."""
    watch = RecoveryWatch()
    ms = 1_000_000

    def write(store: str, end_ms: int, outcome: str = "ok", refused: bool = False) -> None:
        watch.listener(replace(event(outcome, error=None if outcome == "ok" else "E: x", end_ns=end_ms * ms,
                                     refused=refused), store=store, start_ns=end_ms * ms - ms))

    for t in range(0, 1000, 100):
        write("redis", t)
        write("postgres", t)
    watch.went_down("redis", "kill", 1000 * ms)
    write("redis", 1010, "info")
    for t in range(1100, 2000, 100):
        write("redis", t, "fail", refused=True)
    watch.came_back("redis", "restart", 2000 * ms)
    write("redis", 2050, "fail", refused=True)
    write("redis", 2100, "fail")  # the server answered (an error of its own): reconnected
    for t in range(2300, 3300, 100):
        write("redis", t)
    for t in range(1000, 3300, 100):
        write("postgres", t)
    got = watch.to_json()
    redis, postgres = got["redis"], got["postgres"]
    assert redis["faulted"] and redis["noticed_after_s"] == 0.01 and redis["down_for_s"] == 1.0
    assert redis["reconnected_after_s"] == 0.1 and redis["first_ack_after_s"] == 0.3
    assert redis["before"]["acknowledged"] == 10 and redis["before"]["ack_per_s"] == 10.0
    assert redis["during"] == {**redis["during"], "acknowledged": 0, "refused": 10, "failed": 1, "unknown": 1}
    assert redis["after"]["acknowledged"] == 10 and redis["after"]["p99_ms"] == pytest.approx(1.0, rel=0.01)
    assert not postgres["faulted"] and postgres["during"]["acknowledged"] == 13  # 1.0 .. 2.3 s: unaffected


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
    assert relaxed.durability.server(kinds.kind("postgres")) == {"fsync": True, "synchronous_commit": "off",
                                                                 "archive": False, "archive_timeout_s": 0}
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


def _raised(make: Any) -> BaseException:
    try:
        make()
    except Exception as exc:
        return exc
    raise AssertionError("nothing raised")


class ClientConnectionError(Exception):  # a client library's own type, named as redis-py's is
    pass


def _wrapped_refusal() -> None:
    try:
        raise ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 1)")
    except OSError as e:
        raise ClientConnectionError("Error 111 connecting to 127.0.0.1:1. Connection refused.") from e


def _wrapped_reset() -> None:
    try:
        raise ConnectionResetError(104, "Connection reset by peer")
    except OSError as e:
        raise ClientConnectionError("Error while reading from 127.0.0.1:1") from e


def test_a_refused_connection_is_a_definite_failure_and_a_cut_one_unknown() -> None:
    from sandbox.measure.timing import refused_before_send

    assert refused_before_send(_raised(_wrapped_refusal))
    assert refused_before_send(OSError("Multiple exceptions: [Errno 111] Connect call failed ('::1', 1)"))
    assert not refused_before_send(_raised(_wrapped_reset))
    assert not refused_before_send(TimeoutError("no answer within 10 s"))
    # elastic-transport keeps every attempt's error in `.errors`: the last refused, an earlier one cut
    retried = ClientConnectionError("refused on the last of 2 attempts")
    retried.__cause__ = _raised(_wrapped_refusal)
    retried.errors = (_raised(_wrapped_refusal), _raised(_wrapped_reset))  # type: ignore[attr-defined]
    assert not refused_before_send(retried), "one attempt was cut after sending: the outcome is unknown"
    retried.errors = (_raised(_wrapped_refusal),)  # type: ignore[attr-defined]
    assert refused_before_send(retried)


async def test_timed_calls_count_a_refusal_as_failed_and_a_cut_as_unknown() -> None:
    from sandbox.measure.timing import TimedCalls

    seen: list[OpEvent] = []
    calls = TimedCalls("s", None, [seen.append])

    async def refused() -> None:
        _wrapped_refusal()

    async def cut() -> None:
        _wrapped_reset()

    await calls.call("write", refused, ("a",))
    await calls.call("write", cut, ("b",))
    assert [(e.outcome, e.refused) for e in seen] == [("fail", True), ("info", False)]
    assert calls.op("write").failed == 1 and calls.op("write").unknown == 1
