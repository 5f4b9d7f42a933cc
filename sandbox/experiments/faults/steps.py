"""Steps for consistency under faults: history, faults / outage, visibility, settle, check.

A fault schedule and visibility probes run in the background while the `write` step runs, so a
scenario names them before `write` and `settle` after it (any model: every root instance is checked by key):

    prepare -> history -> outage (or faults) -> visibility -> write -> settle -> check

Everything they start is also undone by a cleanup the runner always runs (a store left paused or
killed is resumed or started again), so a failed or interrupted run never leaves the stack broken.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable
from typing import Any

from sandbox.errors import SandboxError, UsageError
from sandbox.experiments.faults.recovery import BACK, DOWN, RecoveryWatch
from sandbox.experiments.faults.state import AppliedFault, FaultRun, fault_run, history_of
from sandbox.measure.checker import CheckReport, check_stores
from sandbox.measure.history import OpHistory
from sandbox.measure.load import cancel_and_wait
from sandbox.measure.visibility import VisibilityProbe
from sandbox.scenario.context import RunContext
from sandbox.scenario.spec import RunParams
from sandbox.scenario.step import StepSpec
from sandbox.stack.faults import Fault, FaultInjector, parse_faults
from sandbox.stores import make_model_store
from sandbox.stores.connect import connect_all
from sandbox.stores.contract import SearchPath

OP_POLL_S = 0.005


def write_ops(run: RunParams) -> int:
    return math.ceil(run.orders / run.batch)


# -- history ---------------------------------------------------------------------------------------
async def history(ctx: RunContext) -> None:
    """Record every operation (invoke, then ok / fail / info) to history.jsonl in the results folder."""
    state = fault_run(ctx)
    if state.history is not None:
        return
    state.history = OpHistory(ctx.results_dir / "history.jsonl")
    for ts in ctx.stores.values():
        ts.listeners.append(state.history.listener)

    async def close() -> None:
        if state.history is not None:
            state.history.close()

    ctx.cleanups.append(close)


def _history(ctx: RunContext, step: str) -> OpHistory:
    if (history := history_of(ctx)) is None:
        raise SandboxError(f"step {step!r} needs the operation history: put a `history` phase before `write`")
    return history


# -- faults ----------------------------------------------------------------------------------------
async def faults(ctx: RunContext, schedule: list[dict[str, Any]]) -> None:
    """Start a fault schedule in the background; it runs while the next steps (`write`) run."""
    _start_schedule(ctx, parse_faults(schedule, ctx.params.stores, write_ops(ctx.params)))


async def outage(ctx: RunContext, store: str, down_s: float = 5.0, at_op: int | None = None,
                 action: str = "kill") -> None:
    """Take one store down mid-write (kill -9 by default) for down_s seconds, then start it again on its data."""
    _start_schedule(ctx, _outage_schedule(ctx.params, store, down_s, at_op, action))


def _outage_schedule(run: RunParams, store: str, down_s: float, at_op: int | None, action: str) -> list[Fault]:
    if action not in ("kill", "stop", "pause"):
        raise UsageError(f"outage: action must be kill, stop or pause, got {action!r}")
    back = "resume" if action == "pause" else "restart"
    # About a third into the write phase: of its seconds when it runs for a duration (the scenario's default:
    # the load spans the outage and the recovery), else of its write operations.
    when: dict[str, Any] = {"at_op": at_op} if at_op is not None else \
        {"at_s": round(run.warmup_s + run.duration_s * 0.3, 3)} if run.duration_s is not None else \
        {"at_op": write_ops(run) * 3 // 10}
    return parse_faults([{"store": store, "action": action, **when},
                         {"store": store, "action": back, "after_s": down_s}], run.stores, write_ops(run))


def _start_schedule(ctx: RunContext, schedule: list[Fault]) -> None:
    state = fault_run(ctx)
    if state.recovery is None:
        state.recovery = RecoveryWatch()
        for ts in ctx.stores.values():
            ts.listeners.append(state.recovery.listener)
    if state.injector is None:
        state.injector = FaultInjector(ctx.stack)
        injector = state.injector

        async def restore() -> None:
            await cancel_and_wait(state.background)  # a schedule left running could kill a store after this
            for done in await injector.restore():
                ctx.notes.append(f"restored after the run: {done}")

        ctx.cleanups.append(restore)
    state.background.append(asyncio.get_running_loop().create_task(_run_schedule(ctx, state, schedule)))


async def _run_schedule(ctx: RunContext, state: FaultRun, schedule: list[Fault]) -> None:
    assert state.injector is not None
    start = previous = time.monotonic()
    for fault in schedule:
        if fault.at_s is not None:
            await asyncio.sleep(max(0.0, start + fault.at_s - time.monotonic()))
        elif fault.after_s is not None:
            await asyncio.sleep(max(0.0, previous + fault.after_s - time.monotonic()))
        else:
            stats = ctx.stores[fault.store].op("write")
            while stats.ok + stats.failed + stats.unknown < (fault.at_op or 0):
                await asyncio.sleep(OP_POLL_S)
        t = time.monotonic() - start
        if state.history is not None:
            state.history.note_fault(fault.store, fault.action, fault.when())
        issued = time.perf_counter_ns()
        if state.recovery is not None and fault.action in DOWN:
            state.recovery.went_down(fault.store, fault.action, issued)
        try:
            detail = await state.injector.apply(fault.store, fault.action)
        except Exception as exc:
            # A run whose fault did not happen would report a store as robust that was never tested.
            state.applied.append(AppliedFault(round(t, 3), fault.store, fault.action, fault.when(),
                                              f"FAILED: {type(exc).__name__}: {exc}"[:300]))
            raise UsageError(f"fault not applied: {fault.action} {fault.store} ({fault.when()}): {exc}; the run "
                             "stopped (faults need servers this sandbox started: `sandbox up`)") from exc
        previous = time.monotonic()
        if state.recovery is not None and fault.action in BACK:
            state.recovery.came_back(fault.store, fault.action, issued)
        state.applied.append(AppliedFault(round(t, 3), fault.store, fault.action, fault.when(), detail))


# -- visibility ------------------------------------------------------------------------------------
async def visibility(ctx: RunContext, sample: int = 100, timeout_s: float = 10.0) -> None:
    """Probe a sample of acknowledged writes through each store's query path until visible (lag).

    The probes go through a reader of their own per store (a second model store on the run's namespace, made
    as the writer's was, with two connections), as an application's readers would, not through the writers'
    busy pool: its search path where it has one (SearchPath.visible), else its read of the root by key."""
    if sample <= 0 or timeout_s <= 0:
        raise UsageError("visibility: sample and timeout_s must be positive")
    state = fault_run(ctx)
    readers = [make_model_store(ctx.settings, name, ts.store.namespace, ctx.model,
                                **{**getattr(ts.store, "made_with", {}), "connections": 2})
               for name, ts in ctx.stores.items()]
    await connect_all(readers)
    probe = VisibilityProbe({r.name: _probe(r, ctx.model.root) for r in readers},
                            {n: str(ctx.servers[n]) for n in ctx.stores},
                            every=write_ops(ctx.params) // sample, limit=sample, timeout_s=timeout_s)
    state.visibility = probe
    for ts in ctx.stores.values():
        ts.listeners.append(probe.listener)

    async def stop() -> None:
        probe.cancel()
        await asyncio.gather(*(r.close() for r in readers), return_exceptions=True)

    ctx.cleanups.append(stop)


def _probe(reader: Any, root: str) -> Callable[[Any], Awaitable[bool]]:
    if isinstance(reader, SearchPath):
        return reader.visible

    async def by_key(key: Any) -> bool:  # reads see committed writes at once: the read is the reader's path
        return await reader.read(root, key) is not None
    return by_key


# -- settle and check ------------------------------------------------------------------------------
async def settle(ctx: RunContext) -> None:
    """Wait for the fault schedule and the visibility probes to finish; start or resume any store the
    schedule left down or paused, so the check that follows sees the stores after recovery."""
    state = fault_run(ctx)
    for task in state.background:
        await task  # raises when a fault could not be applied
    if state.visibility is not None:
        await state.visibility.finish()
    if state.injector is not None:
        for done in await state.injector.restore():
            ctx.notes.append(f"settle: {done}")


async def check(ctx: RunContext, label: str = "after run") -> None:
    """Read every store back and classify every root instance, by key, against what its client was told."""
    outcomes = _history(ctx, "check").outcomes
    # A duration-limited run sent each store a prefix of the stream: regenerate only that far.
    sent = max(ctx.written.values(), default=ctx.params.orders)
    checks = await check_stores(ctx.dataset, sent, {name: ts.store for name, ts in ctx.stores.items()}, outcomes,
                                sent=ctx.written)
    fault_run(ctx).checks.append(CheckReport(label, checks))


# -- validation before anything starts -------------------------------------------------------------
def _validate_faults(params: dict[str, Any], run: RunParams) -> None:
    parse_faults(params.get("schedule"), run.stores, write_ops(run))


def _validate_outage(params: dict[str, Any], run: RunParams) -> None:
    down_s = params.get("down_s", 5.0)
    if isinstance(down_s, bool) or not isinstance(down_s, int | float) or down_s < 0:
        raise UsageError(f"outage: down_s must be a non-negative number of seconds, got {down_s!r}")
    _outage_schedule(run, params["store"], down_s, params.get("at_op"), params.get("action", "kill"))


STEPS = {"history": StepSpec(history), "faults": StepSpec(faults, _validate_faults),
         "outage": StepSpec(outage, _validate_outage), "visibility": StepSpec(visibility), "settle": StepSpec(settle),
         "check": StepSpec(check)}
