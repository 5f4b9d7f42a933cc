"""The durability experiment: a crash inside each store's loss window, repeated, with what was lost.

For each durability profile: (re)start the servers with its settings; then `repeat` trials, each in a
namespace of its own: every store gets its own stream of the model's root instances and is SIGKILLed while
still taking writes, at a point of that stream (crash_trial.KillPoint), its writers going on until they
notice; the server's own persistence state is asked right before the kill; then every store is started
again on the same data directory and every root instance written is classified by key with the checker.
What is simulated is a process crash: the kernel keeps running, so whatever a server had handed to
the OS (page cache) survives even without fsync. An OS crash or power loss is NOT simulated.
"""

from __future__ import annotations

import contextlib
from typing import Any

from sandbox.config import Endpoint
from sandbox.errors import UsageError
from sandbox.experiments.durability.crash_trial import KillPoint, write_until_killed
from sandbox.experiments.durability.rows import DurabilityRow, DurabilityRun
from sandbox.experiments.faults.state import fault_run
from sandbox.measure.checker import CheckReport, Verdict, check_stores
from sandbox.measure.history import OpHistory, WriteOutcome
from sandbox.measure.latency import summarize
from sandbox.measure.load import LoadPlan, gather_all
from sandbox.measure.timing import TimedStore
from sandbox.scenario.context import RunContext
from sandbox.scenario.spec import RunParams
from sandbox.scenario.step import StepSpec, with_defaults
from sandbox.stack.busy_disk import BusyDisk, same_device
from sandbox.stack.durability_profiles import Profile, parse_profiles
from sandbox.stack.faults import FaultInjector
from sandbox.stack.persistence import brief
from sandbox.stores import make_model_store
from sandbox.stores.connect import close_all, connect_all, prepare_all
from sandbox.stores.contract import ServerSettings
from sandbox.stores.registry import StoreRegistry, registry_of

FAILURE_SIMULATED = ("process crash: SIGKILL to each server's process tree while it was still taking writes "
                     "(its writers going on until they noticed), then a restart on the same data directory. "
                     "The OS kept running, so data a server had handed to the kernel survives without fsync; "
                     "an OS crash or power loss is not simulated.")


async def durability(ctx: RunContext, profiles: Any = "default", repeat: int = 3, kill_at_acked: int | None = None,
                     kill_after_s: float | None = 1.0, aim: str = "window", busy_disk: Any = "off",
                     busy_disk_mb: int = 8) -> None:
    """Per durability profile, `repeat` trials: each store killed mid-stream, restarted, every root instance checked.
    busy_disk=on: a writer forcing fsyncs (busy_disk_mb MB each) on the state dir's disk during every trial."""
    registry = registry_of(ctx.settings)
    parsed = parse_profiles(profiles, registry)
    busy = _busy(busy_disk)
    point = KillPoint(kill_at_acked, kill_after_s, aim, redis_fsync=busy).validated()
    stack = ctx.stack
    if busy:
        _describe_disk(ctx, busy_disk_mb)
    if not stack.durability_configurable and any(p.name != "default" for p in parsed):
        raise UsageError("durability profiles other than `default` need the native backend (the compose "
                         "services' settings are fixed in compose/docker-compose.yml)")
    original = stack.durability
    fault_run(ctx).check_tables = False  # many trials: the durability table stands for their checks
    ctx.results.ensure(DurabilityRun).failure_simulated = f"{FAILURE_SIMULATED} Kill point: {point.describe()}."
    injector = FaultInjector(stack)

    async def restore() -> None:
        await injector.restore()
        if stack.durability != original:
            stack.set_durability(original)
            for name in dict.fromkeys(_kind(n) for n in ctx.stores):  # back to the settings `sandbox up` used
                await injector.apply(name, "restart")
            ctx.notes.append("durability: servers restarted with their original settings")

    ctx.cleanups.append(restore)
    for i, profile in enumerate(parsed):
        if profile.durability != stack.durability:
            stack.set_durability(profile.durability)
            for name in dict.fromkeys(_kind(n) for n in ctx.stores):
                await injector.apply(name, "restart")
        for trial in range(repeat):
            await _one_trial(ctx, i, trial, profile, injector, point, busy_disk_mb if busy else None)


async def _one_trial(ctx: RunContext, index: int, trial: int, profile: Profile, injector: FaultInjector,
                     point: KillPoint, busy_disk_mb: int | None) -> None:
    p = ctx.params
    state, trials = fault_run(ctx), ctx.results.ensure(DurabilityRun)
    registry = registry_of(ctx.settings)
    namespace = f"sbx_{ctx.run_id}_d{index}t{trial}"
    root = ctx.model.root_entity
    adapters = [make_model_store(ctx.settings, name, f"{namespace}{_variant(name)}", ctx.model, p.concurrency,
                                 p.options, **profile.client_options(registry, _kind(name))) for name in ctx.stores]
    servers = await connect_all(adapters)
    history = OpHistory(ctx.results_dir / f"history-durability-{index}-{trial}.jsonl")
    timed = {s.name: TimedStore(s, p.op_timeout_s, [history.listener], entity=root.name, key=root.key)
             for s in adapters}
    try:
        await prepare_all(adapters, ctx.dataset, ctx.run_id, registry, ctx.notes)
        reported = {name: await _reported_settings(ctx, ts.store) for name, ts in timed.items()}
        plan = LoadPlan(p.concurrency)
        disk = BusyDisk(ctx.stack.ws.state_dir, busy_disk_mb) if busy_disk_mb else None
        if disk is not None:
            disk.start()
        try:
            crashes = await gather_all(*(write_until_killed(ts, ctx.dataset, plan, p.batch, point, injector,
                                                            ts.store.endpoint.url, history,
                                                            registry.kind(_kind(ts.name)).persistence)
                                         for ts in timed.values()))
        finally:
            load = disk.stop() if disk is not None else None  # the writer's file is removed here
        if load is not None:
            trials.disk_loads.append({"profile": profile.name, "trial": trial + 1, **load.to_json()})
        for name in dict.fromkeys(_kind(n) for n in timed):  # one at a time: the stack's record file is not
            await injector.apply(name, "start")                  # shared between threads
            history.note_fault(name, "start", "same data directory")
        sent = max(t.crash.sent for t in crashes)  # every root instance any store was sent, each classified
        checks = await check_stores(ctx.dataset, sent, {name: ts.store for name, ts in timed.items()},
                                    history.outcomes, keep=(Verdict.LOST,),
                                    sent={t.crash.store: t.crash.sent for t in crashes})
        state.checks.append(CheckReport(f"durability {profile.name} trial {trial + 1}: after kill -9 and restart",
                                        checks))
        for c, t in zip(checks.values(), crashes, strict=True):
            t.losses((c.ids or {}).get(Verdict.LOST, set()))
            lat = summarize(timed[c.store].op("write").latency)  # the TimedStore's own histogram
            acked = history.outcomes.counts(c.store)[WriteOutcome.ACKNOWLEDGED.name.lower()]
            kind = _kind(c.store)
            setting = profile.describe(registry, kind) + (f" [server reports {reported[c.store]}]"
                                                          if reported[c.store] else "")
            trials.rows.append(DurabilityRow(
                profile.name, c.store, str(servers[c.store]), setting, lat["p50"], lat["p99"], acked,
                c.counts[Verdict.LOST], c.counts[Verdict.UNKNOWN_THEN_PRESENT] + c.counts[Verdict.UNKNOWN_THEN_ABSENT],
                c.counts[Verdict.DIVERGENT], None if c.error else c.present, c.error, trial + 1, t.crash.to_json(),
                brief(registry.kind(kind).persistence, t.crash.state), load.brief() if load is not None else ""))
    finally:
        history.close()
        await close_all(adapters, keep=ctx.params.keep, notes=ctx.notes)


def _busy(value: Any) -> bool:
    if value in (True, "on", "yes", "true"):
        return True
    if value in (False, "off", "no", "false"):
        return False
    raise UsageError(f"durability: busy_disk must be on or off, got {value!r}")


def _describe_disk(ctx: RunContext, busy_disk_mb: int) -> None:
    """Which data directories share the busy disk: a store elsewhere is not slowed by the writer."""
    stack = ctx.stack
    dirs = {n: stack.store_dir(n) for n in dict.fromkeys(_kind(s) for s in ctx.stores)
            if stack.is_running(n)}  # stores with a server
    if any(d is None for d in dirs.values()):
        raise UsageError("durability: busy_disk needs the servers' data on this host's filesystem (the native "
                         "backend; compose keeps it in Docker volumes, out of the writer's reach)")
    disk = BusyDisk(stack.ws.state_dir, busy_disk_mb).load.disk.describe()  # refuses a disk without room
    shared = [n for n, d in dirs.items() if d is not None and d.exists() and same_device(d, stack.ws.state_dir)]
    others = [n for n in ctx.stores if n not in shared]
    ctx.notes.append(f"busy disk: a writer forcing fsyncs in {stack.ws.state_dir} ({disk}) during every trial; "
                     f"data directories on that filesystem: {', '.join(shared) or 'none'}"
                     + (f"; elsewhere (not loaded): {', '.join(others)}" if others else ""))


def _kind(name: str) -> str:
    return name.partition(":")[0]


def _variant(name: str) -> str:
    """A design beside its kind's default ("mongo:referenced") gets a namespace of its own."""
    variant = name.partition(":")[2]
    return f"_{variant.lower().replace('-', '_')}" if variant else ""


async def _reported_settings(ctx: RunContext, store: Any) -> str:
    """The durability settings as the server itself reports them (ServerSettings, where the store can ask), asked
    through a model store logged in as the stack's administrator (the run's own login may not read server settings:
    Redis's CONFIG GET is @admin); through the run's own store where the stack does not own the server."""
    if not isinstance(store, ServerSettings):
        return ""
    probe: Any = store
    kind_name, ep = _kind(store.name), store.endpoint  # type: ignore[attr-defined]  # a ModelStore too
    kind = registry_of(ctx.settings).kind(kind_name)
    if ctx.stack.owns(kind_name, ep.url) and kind.model_store is not None:
        probe = kind.model_store(Endpoint(ep.store, ctx.stack.admin_url(kind_name), ep.settings, ep.insecure),
                                 store.namespace, ctx.model, store.made_with)  # type: ignore[attr-defined]
    try:
        if probe is not store:
            await probe.connect()
        got = await probe.server_settings()
    except Exception as exc:
        return f"(could not ask: {type(exc).__name__})"
    finally:
        if probe is not store:
            with contextlib.suppress(Exception):  # a probe that never connected
                await probe.close()
    return ", ".join(f"{k}={v}" for k, v in got.items())


def _validate(params: dict[str, Any], run: RunParams) -> None:
    given = with_defaults(durability, params)
    parse_profiles(given["profiles"], StoreRegistry.built_in())
    KillPoint(given["kill_at_acked"], given["kill_after_s"], given["aim"]).validated()
    _busy(given["busy_disk"])
    mb = given["busy_disk_mb"]
    if isinstance(mb, bool) or not isinstance(mb, int) or not 0 < mb <= 256:
        raise UsageError(f"durability: busy_disk_mb must be a whole number of MB from 1 to 256, got {mb!r}")
    kinds = [_kind(s) for s in run.stores]
    if len(set(kinds)) < len(kinds):
        raise UsageError("durability kills each store's server: designs of one kind share it, so run them in "
                         "separate runs (one of " + ", ".join(s for s in run.stores if kinds.count(_kind(s)) > 1) + ")")
    repeat = given["repeat"]
    if isinstance(repeat, bool) or not isinstance(repeat, int) or repeat <= 0:
        raise UsageError(f"durability: repeat must be a positive whole number of trials, got {repeat!r}")


STEPS = {"durability": StepSpec(durability, _validate)}
