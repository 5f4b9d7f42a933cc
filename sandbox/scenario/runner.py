"""Running a scenario: connect, run its phases, always clean up, write the results."""

from __future__ import annotations

import asyncio
import secrets
import signal
from collections.abc import Coroutine
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from sandbox.config import Settings, Workspace, mask
from sandbox.errors import UsageError
from sandbox.measure.background import BackgroundSampler
from sandbox.measure.progress import Progress
from sandbox.measure.server_snapshots import snapshot_all
from sandbox.measure.timing import TimedStore
from sandbox.scenario.context import RunContext
from sandbox.scenario.interrupt import Interrupted, SignalCatcher
from sandbox.scenario.spec import RunParams, Scenario
from sandbox.scenario.step import Steps
from sandbox.stack.base import Stack
from sandbox.stores import make_model_store
from sandbox.stores.connect import close_all, connect_all
from sandbox.stores.registry import StoreRegistry, registry_of
from sandbox.workload import model_file
from sandbox.workload.dataset import Dataset, Sizes
from sandbox.workload.schema import Model

T = TypeVar("T")


def new_run_id(now: datetime) -> str:
    return f"{now:%Y%m%dt%H%M%S}_{secrets.token_hex(2)}"


async def run(scenario: Scenario, params: RunParams, settings: Settings, ws: Workspace, backend: str,
              stack: Stack, progress: Progress, steps: Steps, results_dir: Path | None = None) -> RunContext:
    """Run the scenario's phases with the steps given (the registered experiments'); progress is drawn by the
    caller (the CLI passes rich bars)."""
    registry = registry_of(settings)
    named = bool(params.stores)  # the run named its stores (one that cannot hold the model is then an error)
    params = params.validated(registry)
    for phase in scenario.phases:
        if phase.step not in steps:
            raise UsageError(f"scenario {scenario.name}: unknown step {phase.step!r}")
        if problem := steps.check(phase.step, phase.params):
            raise UsageError(f"scenario {scenario.name}: {problem}")
        steps.validate(phase.step, phase.params, params, registry)
    model = load_model(ws, params, registry)
    if params.seed is None:
        params = replace(params, seed=secrets.randbelow(2**31))
    assert params.seed is not None
    now = datetime.now(UTC)
    run_id = new_run_id(now)
    namespace = f"sbx_{run_id}"
    stores = [make_model_store(settings, name, namespace_of(namespace, name), model, params.concurrency,
                               params.options) for name in (params.stores if params.connect else ())]
    stores, left_out = suited(stores, model, explicit=named)
    catcher = SignalCatcher()
    try:
        servers = await connect_all(stores)
    except asyncio.CancelledError as exc:
        catcher.remove()
        raise Interrupted(catcher.caught(exc), None) from None

    progress.note(f"run {run_id}  scenario {scenario.name}  model {model.name}  seed {params.seed}  "
                  f"{model.root_entity.plural} {params.orders}  concurrency {params.concurrency}  batch {params.batch}")
    dataset = Dataset(model, params.seed, Sizes(params.orders, spacing_ms=params.order_spacing_ms))
    root = model.root_entity
    ctx = RunContext(scenario, params, run_id, backend, dataset,
                     {s.name: TimedStore(s, params.op_timeout_s, entity=root.name, key=root.key) for s in stores},
                     servers, {s.name: mask(s.endpoint.url) for s in stores},
                     progress, results_dir or ws.results_dir / f"{now:%Y%m%dT%H%M%SZ}-{scenario.name}", settings,
                     stack)
    ctx.notes += left_out
    ctx.server_settings = {s.name: await _settings_of(s) for s in stores}
    try:
        # What each server does in the background (vacuum, checkpoints, ...) through the phases: background.jsonl.
        async with BackgroundSampler.for_stores(lambda: ctx.settings, list(ctx.stores), ctx.results_dir):
            for phase in scenario.phases:
                before, ops_before = await snapshot_all(_clients(ctx)), _ops(ctx)
                await steps[phase.step](ctx, **phase.params)
                after, ops_after = await snapshot_all(_clients(ctx)), _ops(ctx)
                ctx.server_stats.record(phase.step, before, after,
                                        {n: ops_after[n] - ops_before.get(n, 0) for n in ops_after})
                ctx.completed_phases.append(phase.step)
                if catcher.signum is not None:  # its cancellation was lost in a client's wait_for (gh-86296)
                    raise asyncio.CancelledError
    except asyncio.CancelledError as exc:  # SIGINT or SIGTERM (see interrupt.py): stop, then clean up
        ctx.interrupted = signal.Signals(catcher.caught(exc)).name
    finally:
        # Runs on failure and on a signal too: nothing half-written stays behind unless --keep.
        await _cleanups(ctx)
        await _teardown(ctx, keep=params.keep)
        catcher.remove()
    if ctx.interrupted:
        raise Interrupted(signal.Signals[ctx.interrupted], ctx)
    return ctx


def _ops(ctx: RunContext) -> dict[str, int]:
    """Operations each store's timer has seen so far, every outcome and the warm-up's (the server saw them all)."""
    return {name: sum(s.ok + s.failed + s.unknown + s.warmup for s in ts.stats.values())
            for name, ts in ctx.stores.items()}


def namespace_of(namespace: str, store: str) -> str:
    """A design of a kind ("mongo:referenced") beside the kind's default in one run gets a namespace of its own."""
    variant = store.partition(":")[2]
    return f"{namespace}_{variant.lower().replace('-', '_')}" if variant else namespace


def load_model(ws: Workspace, params: RunParams, registry: StoreRegistry) -> Model:
    """The run's model, checked before anything connects (a bad file: one line, exit 2)."""
    return model_file.load(model_file.find(ws.project_dir, params.model), registry.kinds)


def suited(stores: list[Any], model: Model, explicit: bool) -> tuple[list[Any], list[str]]:
    """The stores whose design can hold the model's root; one that cannot is left out with a note, or, when the
    run named it, stops the run (exit 2)."""
    keep, notes = [], []
    for store in stores:
        if store.kept(model.root).fields:
            keep.append(store)
            continue
        why = f"{store.name} cannot hold model {model.name}: {store.describe().splitlines()[-1]}"
        if explicit:
            raise UsageError(f"{why}; leave it out of --stores")
        notes.append(f"left out: {why}")
    return keep, notes


def _clients(ctx: RunContext) -> list[Any]:
    """The run's clients now (a step may reopen one elsewhere: isolate)."""
    return [ts.store for ts in ctx.stores.values()]


async def _settings_of(store: Any) -> dict[str, str]:
    """The server's durability settings for the report's manifest; a server that will not say is a note there."""
    if not hasattr(store, "server_settings"):
        return {}
    try:
        return await store.server_settings()
    except Exception as exc:
        return {"not reported": f"{type(exc).__name__}: {exc}"[:200]}


async def _cleanups(ctx: RunContext) -> None:
    """What steps asked to be undone (a store left paused or killed, a file left open), last first."""
    for cleanup in reversed(ctx.cleanups):
        try:
            await cleanup()
        except Exception as exc:
            ctx.notes.append(f"cleanup failed: {type(exc).__name__}: {exc}"[:300])


async def _teardown(ctx: RunContext, keep: bool) -> None:
    await close_all([ts.store for ts in ctx.stores.values()], keep, ctx.notes)
    if keep:
        ctx.notes.append(f"--keep: this run's data stays in namespace sbx_{ctx.run_id} of every store")


def run_blocking(scenario: Scenario, params: RunParams, settings: Settings, ws: Workspace, backend: str,
                 stack: Stack, progress: Progress, steps: Steps, results_dir: Path | None = None) -> RunContext:
    return run_loop(run(scenario, params, settings, ws, backend, stack, progress, steps, results_dir))


def run_loop(main: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine on uvloop where available (a faster event loop: less client overhead per operation)."""
    try:
        import uvloop
        loop_factory = uvloop.new_event_loop
    except ImportError:  # uvloop is optional (not on Windows)
        loop_factory = None
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        return runner.run(main)
