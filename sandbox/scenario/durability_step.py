"""The durability experiment: acknowledged writes, kill -9, restart on the same data, count what is lost.

For each durability profile: (re)start the servers with its settings, write the workload to every
store in a namespace of its own, SIGKILL each server's process tree once the last write is
acknowledged, start it again on the same data directory, and classify every order with the checker.
What is simulated is a process crash: the kernel keeps running, so whatever a server had handed to
the OS (page cache) survives even without fsync. An OS crash or power loss is NOT simulated.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from sandbox.errors import UsageError
from sandbox.measure.checker import CheckReport, Verdict, check_store, expected_records
from sandbox.measure.driver import write_everywhere
from sandbox.measure.history import OpHistory, WriteOutcome
from sandbox.measure.latency import summarize
from sandbox.measure.timing import TimedStore
from sandbox.scenario.context import RunContext
from sandbox.scenario.durability_rows import DurabilityRow
from sandbox.scenario.fault_steps import fault_run
from sandbox.scenario.spec import RunParams
from sandbox.scenario.steps import Step
from sandbox.stack.durability_profiles import Profile, parse_profiles
from sandbox.stack.faults import FaultInjector
from sandbox.stores import make_store
from sandbox.stores.base import Store
from sandbox.stores.connect import close_all, connect_all, prepare_all
from sandbox.stores.registry import StoreRegistry, registry_of

FAILURE_SIMULATED = ("process crash: SIGKILL to each server's process tree right after the last acknowledged "
                     "write, then a restart on the same data directory. The OS kept running, so data a server "
                     "had handed to the kernel survives without fsync; an OS crash or power loss is not simulated.")


async def durability(ctx: RunContext, profiles: Any = "default") -> None:
    """Per durability profile and store: write, kill -9, restart, count acknowledged-but-lost orders."""
    registry = registry_of(ctx.settings)
    parsed = parse_profiles(profiles, registry)
    stack = ctx.stack
    if not stack.durability_configurable and any(p.name != "default" for p in parsed):
        raise UsageError("durability profiles other than `default` need the native backend (the compose "
                         "services' settings are fixed in compose/docker-compose.yml)")
    original = stack.durability
    state = fault_run(ctx)
    state.failure_simulated = FAILURE_SIMULATED
    injector = FaultInjector(stack)

    async def restore() -> None:
        await injector.restore()
        if stack.durability != original:
            stack.set_durability(original)
            for name in ctx.stores:  # back to the settings `sandbox up` started them with
                await injector.apply(name, "restart")
            ctx.notes.append("durability: servers restarted with their original settings")

    ctx.cleanups.append(restore)
    for i, profile in enumerate(parsed):
        if profile.durability != stack.durability:
            stack.set_durability(profile.durability)
            for name in ctx.stores:
                await injector.apply(name, "restart")
        await _one_profile(ctx, i, profile, injector)


async def _one_profile(ctx: RunContext, index: int, profile: Profile, injector: FaultInjector) -> None:
    p = ctx.params
    state = fault_run(ctx)
    registry = registry_of(ctx.settings)
    namespace = f"sbx_{ctx.run_id}_d{index}"
    adapters = [make_store(ctx.settings, name, namespace, p.concurrency, es_refresh=p.es_refresh,
                           **profile.client_options(registry, name)) for name in ctx.stores]
    servers = await connect_all(adapters)
    history = OpHistory(ctx.results_dir / f"history-durability-{index}.jsonl")
    timed = {s.name: TimedStore(s, p.op_timeout_s, [history.listener]) for s in adapters}
    try:
        await prepare_all(adapters, ctx.workload.catalog, ctx.run_id)
        reported = {name: await _reported_settings(ts.store) for name, ts in timed.items()}
        await write_everywhere(list(timed.values()), ctx.workload, p.concurrency, p.batch,
                               ctx.tracker(f"write d{index}", p.orders))
        for name in timed:  # one at a time: the stack's record file is not shared between threads
            history.note_fault(name, "kill", "after the last acknowledged write")
            await injector.apply(name, "kill")
        for name in timed:
            await injector.apply(name, "start")
            history.note_fault(name, "start", "same data directory")
        expected = expected_records(o.record() for o in ctx.workload.orders())
        checks = await asyncio.gather(*(check_store(name, expected, history.outcomes.of(name), ts.store.scan)
                                        for name, ts in timed.items()))
        state.checks.append(CheckReport(f"durability {profile.name}: after kill -9 and restart",
                                        {c.store: c for c in checks}))
        for c in checks:
            lat = summarize(timed[c.store].op("write").latency)  # the TimedStore's own histogram
            acked = history.outcomes.counts(c.store)[WriteOutcome.ACKNOWLEDGED.name.lower()]
            setting = profile.describe(registry, c.store) + (f" [server reports {reported[c.store]}]"
                                                             if reported[c.store] else "")
            present = sum(c.counts[v] for v in (Verdict.OK, Verdict.DIVERGENT, Verdict.FAILED_BUT_PRESENT,
                                                Verdict.TIMED_OUT_BUT_PRESENT, Verdict.UNKNOWN_THEN_PRESENT,
                                                Verdict.UNEXPECTED))
            state.durability.append(DurabilityRow(
                profile.name, c.store, str(servers[c.store]), setting, lat["p50"], lat["p99"], acked,
                c.counts[Verdict.LOST], c.counts[Verdict.UNKNOWN_THEN_PRESENT] + c.counts[Verdict.UNKNOWN_THEN_ABSENT],
                c.counts[Verdict.DIVERGENT], None if c.error else present, c.error))
    finally:
        history.close()
        await close_all(adapters, keep=ctx.params.keep, notes=ctx.notes)



async def _reported_settings(store: Store) -> str:
    """The durability settings as the server itself reports them, asked through its adapter."""
    try:
        got = await store.server_settings()
    except Exception as exc:
        return f"(could not ask: {type(exc).__name__})"
    return ", ".join(f"{k}={v}" for k, v in got.items())


def _validate(params: dict[str, Any], run: RunParams) -> None:
    parse_profiles(params.get("profiles", "default"), StoreRegistry.built_in())


STEPS: dict[str, Step] = {"durability": durability}
VALIDATORS: dict[str, Callable[[dict[str, Any], RunParams], None]] = {"durability": _validate}
