"""Faults on the real servers: kill -9, pause / resume, restart on the same data, and what the checker says.

These tests start their own native stack (ports shifted by 4500 beyond SANDBOX_PORT_OFFSET, a state
directory of their own) and stop it afterwards, so they never kill the stack other tests use.
A missing server binary fails the test with the install command (NativeStack's UsageError).
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from sandbox.config import Workspace
from sandbox.measure.checker import StoreCheck, Verdict, check_stores
from sandbox.measure.history import OpHistory, WriteOutcome, read_history
from sandbox.measure.load import closed_loop
from sandbox.measure.timing import OpEvent, TimedStore
from sandbox.stack.faults import FaultInjector
from sandbox.stack.native import NativeStack
from sandbox.stores import make_model_store
from sandbox.stores.kind import Durability
from sandbox.stores.registry import StoreRegistry
from sandbox.workload.dataset import Dataset, Sizes
from sandbox.workload.model_file import find, load
from tests.helpers import PROJECT, throwaway_stack

ROOT = Path(__file__).resolve().parents[1]
TEST_OFFSET = 4500  # beyond the configured SANDBOX_PORT_OFFSET: a stack of our own (not a multiple of 1000:
# another stack may sit at its base offset plus a whole thousand)
MODEL = load(find(PROJECT, "orders"))
ALL = tuple(Verdict)


@dataclass
class FaultStack:
    stack: NativeStack
    injector: FaultInjector
    ws: Workspace

    def store(self, name: str, **knobs: Any) -> Any:
        settings = StoreRegistry.built_in().settings("native", self.ws)
        return make_model_store(settings, name, f"sbx_test_{secrets.token_hex(3)}", MODEL, **knobs)


def timed(store: Any, op_timeout_s: float, history: OpHistory) -> TimedStore:
    return TimedStore(store, op_timeout_s, [history.listener], entity=MODEL.root, key=MODEL.root_entity.key)


@pytest.fixture
def fault_stack(tmp_path: Path) -> Iterator[FaultStack]:
    with throwaway_stack(tmp_path / "state", TEST_OFFSET) as t:
        injector = FaultInjector(t.stack)
        try:
            yield FaultStack(t.stack, injector, t.ws)
        finally:
            if injector.paused:
                asyncio.run(injector.restore())  # a paused server cannot stop


async def write_all(ts: TimedStore, data: Dataset, concurrency: int = 4) -> None:
    await closed_loop(data.roots(), ts.write, concurrency)


async def check(name: str, store: Any, data: Dataset, history: OpHistory) -> StoreCheck:
    return (await check_stores(data, data.count, {name: store}, history.outcomes, keep=ALL))[name]


async def run_kill_restart(fs: FaultStack, name: str, count: int) -> tuple[StoreCheck, OpHistory, int, int]:
    """Write `count` root instances, kill -9 the server's process tree, start it on the same data, check."""
    fs.stack.up([name])
    pid_before = fs.stack.pid(name)
    store = fs.store(name)
    await store.connect()
    data = Dataset(MODEL, 7, Sizes(count))
    history = OpHistory(fs.ws.results_dir / f"history-{name}.jsonl")
    try:
        await store.prepare(data)
        await write_all(timed(store, 10.0, history), data)
        await fs.injector.apply(name, "kill")
        await fs.injector.apply(name, "start")
        pid_after = fs.stack.pid(name)
        result = await check(name, store, data, history)
        await store.teardown()
    finally:
        history.close()
        await store.close()
    return result, history, int(pid_before or 0), int(pid_after or 0)


async def test_killed_redis_without_aof_loses_exactly_its_acknowledged_writes(fault_stack: FaultStack) -> None:
    fault_stack.stack.set_durability(Durability({"redis.appendonly": False}))
    check, history, before, after = await run_kill_restart(fault_stack, "redis", 200)
    acknowledged = {k for k, o in history.outcomes.of("redis").items() if o == WriteOutcome.ACKNOWLEDGED}
    assert before and after and before != after, "redis was not killed and restarted"
    assert len(acknowledged) == 200
    assert check.error is None
    assert check.ids is not None
    assert check.ids.get(Verdict.LOST, set()) == acknowledged
    assert check.counts[Verdict.OK] == 0


async def test_postgres_with_fsync_on_loses_nothing_after_kill_9(fault_stack: FaultStack) -> None:
    durability = fault_stack.stack.durability.values(StoreRegistry.built_in().kind("postgres"))
    assert durability["fsync"] and durability["synchronous_commit"] == "on"
    check, history, before, after = await run_kill_restart(fault_stack, "postgres", 200)
    assert before and after and before != after, "postgres was not killed and restarted"
    assert check.error is None
    assert history.outcomes.counts("postgres")["acknowledged"] == 200
    assert check.counts[Verdict.LOST] == 0
    assert check.counts[Verdict.OK] == 200


@pytest.fixture
def paused_redis_run(fault_stack: FaultStack) -> Iterator[tuple[StoreCheck, OpHistory, set[str], Any]]:
    """Write to Redis with a 0.3 s client deadline while the server is paused (SIGSTOP) for 1.5 s."""
    async def scenario() -> tuple[StoreCheck, OpHistory, set[str], Any]:
        fault_stack.stack.up(["redis"])
        store = fault_stack.store("redis")
        await store.connect()
        data = Dataset(MODEL, 11, Sizes(300))
        history = OpHistory(fault_stack.ws.results_dir / "history-pause.jsonl")
        ts = timed(store, 0.3, history)
        await store.prepare(data)

        async def nemesis() -> None:
            while ts.op("write").ok < 50:
                await asyncio.sleep(0.005)
            await fault_stack.injector.apply("redis", "pause")
            await asyncio.sleep(1.5)
            await fault_stack.injector.apply("redis", "resume")

        await asyncio.gather(write_all(ts, data), nemesis())
        history.close()
        await asyncio.sleep(0.2)  # let the resumed server work off what it had queued
        present_now = {str(i["id"]) for i in data.roots() if await store.read(MODEL.root, i["id"]) is not None}
        result = await check("redis", store, data, history)
        await store.teardown()
        await store.close()
        return result, history, present_now, store

    yield asyncio.run(scenario())


def test_paused_store_yields_info_operations_the_checker_resolves(
        paused_redis_run: tuple[StoreCheck, OpHistory, set[str], Any]) -> None:
    check, history, _, _ = paused_redis_run
    info = [e for e in read_history(history.path) if e["type"] == "info" and e.get("f") == "write"]
    assert info, "pausing the server produced no info (outcome unknown) operations"
    unknown = {k for k, o in history.outcomes.of("redis").items() if o != WriteOutcome.ACKNOWLEDGED}
    assert unknown and len(unknown) <= len(info)
    assert check.ids is not None
    resolved = set().union(*(check.ids.get(v, set()) for v in (
        Verdict.TIMED_OUT_BUT_PRESENT, Verdict.FAILED_AND_ABSENT, Verdict.UNKNOWN_THEN_PRESENT,
        Verdict.UNKNOWN_THEN_ABSENT)))
    assert resolved == unknown  # every info operation resolved to present or absent
    assert check.counts[Verdict.LOST] == 0 and check.counts[Verdict.DIVERGENT] == 0


def test_write_that_timed_out_client_side_but_landed_is_failed_but_present(
        paused_redis_run: tuple[StoreCheck, OpHistory, set[str], Any]) -> None:
    check, history, present_now, _ = paused_redis_run
    timed_out = {k for k, o in history.outcomes.of("redis").items() if o == WriteOutcome.TIMED_OUT}
    assert timed_out, "no write timed out while the server was paused"
    landed = timed_out & present_now
    assert landed, "no timed-out write landed after the resume"
    assert check.ids is not None
    assert check.ids.get(Verdict.TIMED_OUT_BUT_PRESENT, set()) == landed
    assert check.ids.get(Verdict.FAILED_AND_ABSENT, set()) == timed_out - present_now
    assert check.has_findings  # a client told "failed" would be misled: exit status 3 in a run


@pytest.mark.parametrize("name", ["postgres", "redis"])
async def test_a_killed_server_cuts_the_call_in_flight_and_refuses_the_next(fault_stack: FaultStack,
                                                                          name: str) -> None:
    """A write in flight when the server is killed is cut after sending (unknown: the server is paused first, so
    the write is surely sent and unanswered when the kill comes); the next ones find the connection refused, a
    definite failure; after the restart writes are acknowledged again."""
    fault_stack.stack.up([name])
    store = fault_stack.store(name, connections=1)
    await store.connect()
    data = Dataset(MODEL, 13, Sizes(40))
    events: list[OpEvent] = []
    history = OpHistory(fault_stack.ws.results_dir / f"history-refused-{name}.jsonl")
    ts = timed(store, 10.0, history)
    ts.listeners.append(events.append)
    roots = data.roots()
    try:
        await store.prepare(data)
        assert await ts.write(next(roots))  # the one connection is open now
        await fault_stack.injector.apply(name, "pause")
        in_flight = asyncio.create_task(ts.write(next(roots)))
        await asyncio.sleep(0.3)
        assert not in_flight.done()
        await fault_stack.injector.apply(name, "kill")
        await in_flight
        for _ in range(4):  # refusals
            await ts.write(next(roots))
        after_kill = [(e.outcome, e.refused) for e in events[1:]]
        assert after_kill[0] == ("info", False), (after_kill, events[1].error)  # cut: nobody knows
        assert ("fail", True) in after_kill[1:], [e.error for e in events[1:]]  # refused: it did not happen
        assert ("ok", False) not in after_kill
        await fault_stack.injector.apply(name, "start")
        for _ in range(50):  # the first may meet a server still starting
            if await ts.write(next(roots)):
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError(f"no write acknowledged after the restart: {[e.error for e in events[-3:]]}")
        history.close()
        result = await check(name, store, Dataset(MODEL, 13, Sizes(len(events))), history)
        refused = {k for e in events if e.refused for k in e.keys}
        assert result.ids is not None and refused <= result.ids.get(Verdict.FAILED_AND_ABSENT, set())
        assert not result.has_findings, result.to_json()
        await store.teardown()
    finally:
        history.close()
        await store.close()


def test_outage_shows_the_killed_store_taking_writes_again(tmp_path: Path) -> None:
    """`sandbox run outage` loads for a span that covers the kill and the restart: Redis takes writes again,
    the time to its first acknowledged write is reported, its refused calls are counted failed, PostgreSQL
    beside it is unaffected, and every root instance is classified."""
    import json

    from tests.helpers import sandbox

    with throwaway_stack(tmp_path / "state", TEST_OFFSET + 100, stores=["postgres", "redis"]) as t:
        proc = sandbox("run", "outage", "--stores", "postgres,redis", "--duration", "6", "-p", "down_s=1.5",
                       env={**t.env, "COLUMNS": "200"}, timeout=300)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
        [folder] = t.ws.results_dir.glob("*-outage")
        summary = json.loads((folder / "summary.json").read_text())
        redis, postgres = summary["recovery"]["redis"], summary["recovery"]["postgres"]
        assert redis["faulted"] and redis["first_ack_after_s"] is not None, redis
        assert 0 < redis["first_ack_after_s"] < 3 and redis["reconnected_after_s"] <= redis["first_ack_after_s"]
        assert redis["after"]["acknowledged"] > 0 and redis["during"]["refused"] > 0, redis
        write = summary["stores"]["redis"]["operations"]["write"]
        assert write["failed"] >= redis["during"]["refused"], (write, redis)  # refused calls are failed ones
        assert not postgres["faulted"] and postgres["during"]["acknowledged"] > 0
        counts = summary["check"]["reports"][-1]["stores"]["redis"]["counts"]
        assert counts["failed_and_absent"] >= redis["during"]["refused"] and counts["lost"] == 0, counts
        assert "first ack" in proc.stdout and "recovery" in proc.stdout  # the table users read
