"""Faults on the real servers: kill -9, pause / resume, restart on the same data, and what the checker says.

These tests start their own native stack (ports shifted by 4000 beyond SANDBOX_PORT_OFFSET, a state
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
from sandbox.measure.checker import StoreCheck, Verdict, check_store, expected_records
from sandbox.measure.history import OpHistory, WriteOutcome, read_history
from sandbox.measure.load import closed_loop
from sandbox.measure.timing import TimedStore
from sandbox.stack.faults import FaultInjector
from sandbox.stack.native import NativeStack
from sandbox.stores import make_store
from sandbox.stores.base import Store
from sandbox.stores.kind import Durability
from sandbox.stores.registry import StoreRegistry
from sandbox.workload.generator import Workload, WorkloadSpec
from tests.helpers import throwaway_stack

ROOT = Path(__file__).resolve().parents[1]
TEST_OFFSET = 4000  # beyond the configured SANDBOX_PORT_OFFSET: a stack of our own


@dataclass
class FaultStack:
    stack: NativeStack
    injector: FaultInjector
    ws: Workspace

    def store(self, name: str, **knobs: Any) -> Store:
        settings = StoreRegistry.built_in().settings("native", self.ws)
        return make_store(settings, name, f"sbx_test_{secrets.token_hex(3)}", **knobs)


@pytest.fixture
def fault_stack(tmp_path: Path) -> Iterator[FaultStack]:
    with throwaway_stack(tmp_path / "state", TEST_OFFSET) as t:
        injector = FaultInjector(t.stack)
        try:
            yield FaultStack(t.stack, injector, t.ws)
        finally:
            if injector.paused:
                asyncio.run(injector.restore())  # a paused server cannot stop


async def write_all(ts: TimedStore, workload: Workload, concurrency: int = 4) -> None:
    await closed_loop(list(workload.orders()), ts.write, concurrency)


async def run_kill_restart(fs: FaultStack, name: str, orders: int) -> tuple[StoreCheck, OpHistory, int, int]:
    """Write `orders` orders, kill -9 the server's process tree, start it on the same data, check."""
    fs.stack.up([name])
    pid_before = fs.stack.pid(name)
    store = fs.store(name)
    await store.connect()
    workload = Workload(WorkloadSpec(seed=7, orders=orders))
    history = OpHistory(fs.ws.results_dir / f"history-{name}.jsonl")
    try:
        await store.prepare(workload.catalog)
        await write_all(TimedStore(store, 10.0, [history.listener]), workload)
        await fs.injector.apply(name, "kill")
        await fs.injector.apply(name, "start")
        pid_after = fs.stack.pid(name)
        expected = expected_records(o.record() for o in workload.orders())
        check = await check_store(name, expected, history.outcomes.of(name), store.scan, keep_ids=True)
        await store.teardown()
    finally:
        history.close()
        await store.close()
    return check, history, int(pid_before or 0), int(pid_after or 0)


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
def paused_redis_run(fault_stack: FaultStack) -> Iterator[tuple[StoreCheck, OpHistory, set[str], Store]]:
    """Write to Redis with a 0.3 s client deadline while the server is paused (SIGSTOP) for 1.5 s."""
    async def scenario() -> tuple[StoreCheck, OpHistory, set[str], Store]:
        fault_stack.stack.up(["redis"])
        store = fault_stack.store("redis")
        await store.connect()
        workload = Workload(WorkloadSpec(seed=11, orders=300))
        history = OpHistory(fault_stack.ws.results_dir / "history-pause.jsonl")
        ts = TimedStore(store, op_timeout_s=0.3, listeners=[history.listener])
        await store.prepare(workload.catalog)

        async def nemesis() -> None:
            while ts.op("write").ok < 50:
                await asyncio.sleep(0.005)
            await fault_stack.injector.apply("redis", "pause")
            await asyncio.sleep(1.5)
            await fault_stack.injector.apply("redis", "resume")

        await asyncio.gather(write_all(ts, workload), nemesis())
        history.close()
        await asyncio.sleep(0.2)  # let the resumed server work off what it had queued
        present_now = {o.id for o in workload.orders() if await store.read(o.id) is not None}
        expected = expected_records(o.record() for o in workload.orders())
        check = await check_store("redis", expected, history.outcomes.of("redis"), store.scan, keep_ids=True)
        await store.teardown()
        await store.close()
        return check, history, present_now, store

    yield asyncio.run(scenario())


def test_paused_store_yields_info_operations_the_checker_resolves(
        paused_redis_run: tuple[StoreCheck, OpHistory, set[str], Store]) -> None:
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
        paused_redis_run: tuple[StoreCheck, OpHistory, set[str], Store]) -> None:
    check, history, present_now, _ = paused_redis_run
    timed_out = {k for k, o in history.outcomes.of("redis").items() if o == WriteOutcome.TIMED_OUT}
    assert timed_out, "no write timed out while the server was paused"
    landed = timed_out & present_now
    assert landed, "no timed-out write landed after the resume"
    assert check.ids is not None
    assert check.ids.get(Verdict.TIMED_OUT_BUT_PRESENT, set()) == landed
    assert check.ids.get(Verdict.FAILED_AND_ABSENT, set()) == timed_out - present_now
    assert check.has_findings  # a client told "failed" would be misled: exit status 3 in a run
