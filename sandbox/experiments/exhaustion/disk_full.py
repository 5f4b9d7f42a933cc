"""A store's disk running out of space: what it does with writes, whether it recovers, what survives.

For each store of the run in turn (native backend, root: stack/small_disk.py), the server is restarted on a
fresh data directory on a tmpfs of `size` in a private mount namespace, the run's namespace is prepared on
it and a filler file leaves only `headroom` bytes free. Then:
1. full: the run's root instances are written (closed loop); the checker classifies every one by key
   (acknowledged and present, refused, unknown, or acknowledged but lost);
2. space returns (`recover = "delete"`: the filler file is deleted; `"grow"`: the tmpfs is remounted twice as
   big); new instances are written one at a time until one is acknowledged (at most `recovery_s`): how long
   the server took to take writes again, and whether it had to be started again because it had exited;
3. restart: the server stopped gracefully and started again on the same small disk, a few new instances
   written, and every one checked again: all that was acknowledged, while the disk was full and after,
   must still be there.
Then the store goes back to its usual data directory (which the small disk never touched).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from sandbox.errors import UsageError
from sandbox.experiments.exhaustion.memory_cap import parse_bytes
from sandbox.experiments.exhaustion.result import DiskFullRun
from sandbox.experiments.faults.state import FaultRun, fault_run
from sandbox.measure.checker import CheckReport, check_stores
from sandbox.measure.history import OpHistory
from sandbox.measure.load import closed_loop
from sandbox.measure.timing import TimedStore
from sandbox.scenario.context import RunContext
from sandbox.scenario.spec import RunParams
from sandbox.scenario.step import StepSpec, with_defaults
from sandbox.stack.base import Stack
from sandbox.stack.small_disk import SmallDisk
from sandbox.stores import make_model_store
from sandbox.stores.connect import close_all, connect_all, prepare_all
from sandbox.stores.registry import registry_of

RECOVERY_WRITES = 20  # acknowledged writes after the space returned, to show it took writes again
AFTER_RESTART_WRITES = 5  # and after the restart


async def disk_full(ctx: RunContext, size: str = "128mb", headroom: str = "2mb", recover: str = "delete",
                    recovery_s: float = 30.0) -> None:
    """Each store in turn on a small disk: fill it, write, give the space back, restart; check every root instance."""
    stack = ctx.stack  # the docker backend refuses small_disk in one line (how to do it by hand: docs/faults.md)
    size_b, headroom_b = _sizes(size, headroom)
    results: dict[str, Any] = {}
    ctx.results.ensure(DiskFullRun).result = {"size": size_b, "headroom": headroom_b, "recover": recover,
                                              "stores": results}
    for name in ctx.stores:
        disk = await asyncio.to_thread(stack.small_disk, name, size_b)
        try:
            results[name] = await _one_store(ctx, stack, disk, headroom_b, recover, recovery_s)
        finally:
            await asyncio.to_thread(stack.release_small_disk, name)
        ctx.notes.append(f"disk_full: {name} is back on its usual data directory")


async def _one_store(ctx: RunContext, stack: Stack, disk: SmallDisk, headroom: int, recover: str,
                     recovery_s: float) -> dict[str, Any]:
    p, name = ctx.params, disk.store
    state = fault_run(ctx)
    root = ctx.model.root_entity
    store = make_model_store(ctx.settings, name, f"sbx_{ctx.run_id}_disk", ctx.model, p.concurrency, p.options)
    server = (await connect_all([store]))[name]
    history = OpHistory(ctx.results_dir / f"history-disk-full-{name}.jsonl")
    ts = TimedStore(store, p.op_timeout_s, [history.listener], entity=root.name, key=root.key)
    out: dict[str, Any] = {"server": str(server)}
    try:
        await prepare_all([store], ctx.dataset, ctx.run_id, registry_of(ctx.settings), ctx.notes)
        size, free = disk.usage()
        out["disk"] = {"size": size, "free_after_prepare": free, "filler": disk.fill(headroom)}
        history.note_fault(name, "disk-full", f"{headroom} B left free of {size} B")
        started = time.monotonic()
        await closed_loop(ctx.dataset.roots(0, p.orders), ts.write, p.concurrency)
        stats = ts.op("write")
        running = stack.pid(name) is not None
        out["full"] = {"acknowledged": stats.ok, "failed": stats.failed, "unknown": stats.unknown,
                       "seconds": round(time.monotonic() - started, 2), "first_errors": stats.first_errors[:3],
                       "server_running_after": running, "free_after": disk.usage()[1]}
        if running:
            await _check(state, ctx, name, ts, history, p.orders, "disk full")

        out["recovery"] = await _recover(stack, disk, ts, ctx, recover, recovery_s, history)
        await asyncio.to_thread(stack.restart, name)
        history.note_fault(name, "restart", "graceful stop, start on the same small disk")
        first = p.orders + out["recovery"]["tried"]
        out["after_restart_writes"] = await _write_until(ts, ctx, first, AFTER_RESTART_WRITES, recovery_s)
        written = first + out["after_restart_writes"]["tried"]
        report = await _check(state, ctx, name, ts, history, written, "space returned, then a restart")
        out["after_restart"] = report.stores[name].to_json()
    finally:
        history.close()
        await close_all([store], keep=True, notes=ctx.notes)  # its namespace goes with the tmpfs
    return out


async def _recover(stack: Stack, disk: SmallDisk, ts: TimedStore, ctx: RunContext, recover: str,
                   recovery_s: float, history: OpHistory) -> dict[str, Any]:
    """Give the space back, then write new instances one at a time until RECOVERY_WRITES are acknowledged."""
    name = disk.store
    if recover == "grow":
        size = disk.usage()[0]
        disk.resize(2 * size)
        how = f"tmpfs grown from {size} B to {2 * size} B"
    else:
        how = f"filler file deleted ({disk.free()} B)"
    history.note_fault(name, "disk-space-back", how)
    restarted = False
    if stack.pid(name) is None:  # it exited while its disk was full: nothing takes writes until it is started
        await asyncio.to_thread(stack.start, name)
        restarted = True
    return {"how": how, "server_restarted": restarted,
            **await _write_until(ts, ctx, ctx.params.orders, RECOVERY_WRITES, recovery_s)}


async def _write_until(ts: TimedStore, ctx: RunContext, first: int, want: int, within_s: float) -> dict[str, Any]:
    """New root instances from index `first`, one at a time, until `want` are acknowledged or `within_s` has passed
    (a failed write is retried with the next order after a pause: the first after a restart may meet a
    connection the client has not yet noticed is gone)."""
    out: dict[str, Any] = {"first_ok_after_s": None, "ok": 0, "tried": 0}
    started = time.monotonic()
    while out["ok"] < want and time.monotonic() - started < within_s:
        ok = await ts.write(ctx.dataset.root(first + out["tried"]))
        out["tried"] += 1
        if ok:
            out["ok"] += 1
            if out["first_ok_after_s"] is None:
                out["first_ok_after_s"] = round(time.monotonic() - started, 2)
        else:
            await asyncio.sleep(0.2)
    return out


async def _check(state: FaultRun, ctx: RunContext, name: str, ts: TimedStore, history: OpHistory, count: int,
                 label: str) -> CheckReport:
    report = CheckReport(f"disk_full {name}: {label}", await check_stores(ctx.dataset, count, {name: ts.store},
                                                                          history.outcomes))
    state.checks.append(report)
    return report


def _sizes(size_text: Any, headroom_text: Any) -> tuple[int, int]:
    size = parse_bytes(size_text, "disk_full: size")
    headroom = parse_bytes(headroom_text, "disk_full: headroom")
    if headroom >= size:
        raise UsageError(f"disk_full: headroom ({headroom} B) must be smaller than size ({size} B)")
    return size, headroom


def _validate(params: dict[str, Any], run: RunParams) -> None:
    given = with_defaults(disk_full, params)
    _sizes(given["size"], given["headroom"])
    if given["recover"] not in ("delete", "grow"):
        raise UsageError(f"disk_full: recover must be delete or grow, got {params['recover']!r}")
    recovery_s = given["recovery_s"]
    if isinstance(recovery_s, bool) or not isinstance(recovery_s, int | float) or recovery_s <= 0:
        raise UsageError(f"disk_full: recovery_s must be a positive number of seconds, got {recovery_s!r}")


STEPS = {"disk_full": StepSpec(disk_full, _validate)}
