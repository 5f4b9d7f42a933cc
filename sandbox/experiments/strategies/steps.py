"""Steps that compare write strategies: the same seeded root instances, the same fault, one strategy at a time.

Each strategy gets fresh namespaces in every store it brings along (sbx_<run>_<tag>: the run's model stores made
again there), so one cannot see another's data; what each store holds is read back with the run's comparison
(measure/model_compare.py) against what the client was told. The fault is a real one, injected by
sandbox.stack.faults (the `outage` scenario's injector): a kill of the store's server (SIGKILL on the native
stack, `docker compose kill` on docker), then a start on the same data.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sandbox.config import Settings
from sandbox.errors import UsageError
from sandbox.experiments.strategies.result import StrategyRuns
from sandbox.measure.load import closed_loop
from sandbox.measure.model_compare import Expected, ModelComparison, compare_store
from sandbox.measure.timing import TimedCalls, TimedStore
from sandbox.scenario.context import RunContext
from sandbox.scenario.runner import namespace_of
from sandbox.scenario.spec import RunParams
from sandbox.scenario.step import StepSpec, with_defaults
from sandbox.stack.faults import FaultInjector
from sandbox.stores import make_model_store
from sandbox.stores.connect import READY_TIMEOUT_S, STARTING_UP, close_all, connect_all, prepare_all
from sandbox.stores.registry import StoreRegistry, registry_of
from sandbox.strategies.base import Strategy, StrategyOptions
from sandbox.strategies.outcome import Divergence, StrategyOutcome
from sandbox.strategies.registry import brought_along, check_strategies, strategy_class, strategy_names
from sandbox.workload.dataset import Dataset, Instance


class PlacementFailed(Exception):
    """The strategy told the client its order was not saved (the store errors are in store_operations)."""


@dataclass
class KillAndRestart:
    """Kill one store once `at_order` orders have been placed; start it again `down_s` later."""

    injector: FaultInjector
    store: str
    at_order: int
    down_s: float
    trigger: asyncio.Event = field(default_factory=asyncio.Event)
    killed_at: float | None = None  # time.monotonic()
    restarted_at: float | None = None
    done: list[str] = field(default_factory=list)  # what the injector did
    error: str | None = None

    async def run(self) -> None:
        await self.trigger.wait()
        try:
            self.done.append(await self.injector.apply(self.store, "kill"))
            self.killed_at = time.monotonic()
            await asyncio.sleep(self.down_s)
        except Exception as exc:  # reported in the table, and the restart below is still attempted
            self.error = f"kill failed: {type(exc).__name__}: {exc}"[:200]
        try:
            self.done.append(await self.injector.apply(self.store, "start"))
            self.restarted_at = time.monotonic()
        except Exception as exc:
            self.error = f"restart failed: {type(exc).__name__}: {exc}"[:200]

    def describe(self, t0: float) -> dict[str, object]:
        def rel(t: float | None) -> float | None:
            return None if t is None else round(t - t0, 3)
        return {"store": self.store, "action": "kill", "at_order": self.at_order, "done": self.done,
                "killed_at_s": rel(self.killed_at), "restarted_at_s": rel(self.restarted_at),
                "down_s": None if self.killed_at is None or self.restarted_at is None
                else round(self.restarted_at - self.killed_at, 3), "error": self.error}


def make_stores(settings: Settings, names: list[str], namespace: str, dataset: Dataset, connections: int,
                op_timeout_s: float, options: Mapping[str, Any] | None = None) -> dict[str, TimedStore]:
    """The run's model stores made again in `namespace` (a design beside its kind's default in one of its own),
    timed; nothing connects."""
    root = dataset.model.root_entity
    return {n: TimedStore(make_model_store(settings, n, namespace_of(namespace, n), dataset.model, connections,
                                           options), op_timeout_s, entity=root.name, key=root.key) for n in names}


async def open_stores(settings: Settings, names: list[str], namespace: str, dataset: Dataset, connections: int,
                      op_timeout_s: float, options: Mapping[str, Any] | None = None) -> dict[str, TimedStore]:
    stores = make_stores(settings, names, namespace, dataset, connections, op_timeout_s, options)
    await connect_all([ts.store for ts in stores.values()])
    return stores


async def compare_all(stores: dict[str, TimedStore], dataset: Dataset,
                      acked: Mapping[Any, Instance]) -> dict[str, ModelComparison]:
    """Every store's read-back against the acknowledged states, listing every key found wrong."""
    root = dataset.model.root
    expected = Expected(dataset, len(acked), {name: ts.store.kept(root) for name, ts in stores.items()},
                        dataset.model.checked_aggregates(), instances=list(acked.values()))

    async def one(ts: TimedStore) -> tuple[str, ModelComparison]:
        try:
            return ts.name, await compare_store(ts.name, ts.store, expected, ts.name, keys=None)
        except Exception as exc:  # a store that cannot be read back is a finding, not a crash
            return ts.name, ModelComparison(ts.name, root, error=f"{type(exc).__name__}: {exc}"[:300],
                                            missing=len(acked), missing_examples=[str(k) for k in acked])

    return dict(await asyncio.gather(*(one(ts) for ts in stores.values())))


@dataclass(frozen=True)
class StrategyRun:
    """How one strategy is run: the data, the stores, the fault, the limits."""

    settings: Settings
    stores: tuple[str, ...]
    namespace: str  # the run's; each strategy adds its tag
    dataset: Dataset  # the run's model and seed: the root instances placed, the reference data prepared
    options: StrategyOptions
    op_timeout_s: float = 10.0
    store_options: Mapping[str, Any] = field(default_factory=dict)  # the run's store options (-o)
    keep: bool = False
    injector: FaultInjector | None = None  # None: no fault
    fault_store: str = "none"
    kill_after: float = 0.3  # share of the root instances placed before the kill
    down_s: float = 2.0
    settle_timeout_s: float = 60.0


async def run_strategy(name: str, run: StrategyRun, advance: Callable[[int], None] = lambda n: None,
                       notes: list[str] | None = None) -> StrategyOutcome:
    notes = notes if notes is not None else []
    model = run.dataset.model
    check_strategies([name], run.stores, run.options.source, model.path or model.name)
    cls = strategy_class(name)
    namespace = f"{run.namespace}_{cls.tag}"
    made = make_stores(run.settings, list(run.stores), namespace, run.dataset, run.options.concurrency + 4,
                       run.op_timeout_s, run.store_options)
    # A store it cannot feed is left out, saying so (outcome.left_out: under its table, in summary.json).
    targets, left_out = brought_along(cls, {n: ts.store for n, ts in made.items()}, run.options.source)
    keep = set(targets) | ({run.options.source} if cls.needs_source else set())
    stores = {n: ts for n, ts in made.items() if n in keep}
    await connect_all([ts.store for ts in stores.values()])
    outcome = StrategyOutcome(name, namespace, list(stores), cls.converges, left_out=left_out)
    try:
        run_id = run.namespace.removeprefix("sbx_")
        await prepare_all([ts.store for ts in stores.values()], run.dataset, run_id, registry_of(run.settings), notes)
        strategy = cls(stores, run.options, model)
        await strategy.start()
        try:
            await _drive(strategy, run, stores, outcome, advance)
        finally:
            await strategy.stop()
        outcome.lag = strategy.lag()
        outcome.details = {**strategy.details(), **outcome.details}
        outcome.store_ops = {n: {op: {k: v for k, v in st.to_json().items() if k != "hdr"}
                                 for op, st in ts.stats.items()} for n, ts in stores.items()}
    finally:
        await close_all([ts.store for ts in stores.values()], run.keep, notes)
    return outcome


async def _drive(strategy: Strategy, run: StrategyRun, stores: dict[str, TimedStore], outcome: StrategyOutcome,
                 advance: Callable[[int], None]) -> None:
    total = run.dataset.count
    fault = None
    if run.injector is not None:
        fault = KillAndRestart(run.injector, run.fault_store, max(1, int(total * run.kill_after)), run.down_s)
    fault_task = asyncio.create_task(fault.run()) if fault else None
    acked: dict[Any, Instance] = {}
    placed = 0
    placements = TimedCalls(strategy.name, op_timeout_s=None)  # the store calls inside have their timeouts
    outcome.save = placements.op("place")
    key = run.dataset.model.root_entity.key

    async def place(instance: Instance, index: int) -> Instance:
        final = await strategy.place(instance, index)
        if final is None:
            raise PlacementFailed(f"{key} {instance[key]} not saved")
        return final

    async def one(item: tuple[int, Instance]) -> None:
        nonlocal placed
        index, instance = item
        ok, final = await placements.call("place", lambda: place(instance, index), (str(instance[key]),))
        if ok and final is not None:
            acked[instance[key]] = final
        placed += 1
        if fault is not None and placed >= fault.at_order:
            fault.trigger.set()
        advance(1)

    t0 = time.monotonic()
    try:
        outcome.elapsed_s = await closed_loop(enumerate(run.dataset.roots()), one, run.options.concurrency)
        if fault_task is not None:
            fault.trigger.set()  # type: ignore[union-attr]
            await fault_task  # the store is back before anything is compared
            if fault.store in stores:  # type: ignore[union-attr]
                await answering(stores[fault.store], run.dataset.root(0)[key])  # type: ignore[union-attr]
    finally:
        if fault_task is not None and not fault_task.done():
            fault_task.cancel()
    recovered_at = fault.restarted_at if fault and fault.restarted_at else time.monotonic()

    # Catch-up runs while the end-of-run snapshot is taken: that snapshot is a moment, not a wait.
    async def settle() -> tuple[bool, float]:
        ok = await strategy.settle(run.settle_timeout_s)
        return ok, time.monotonic()

    settling = asyncio.create_task(settle())
    outcome.at_end = Divergence.of(await compare_all(stores, run.dataset, acked))
    outcome.settled, settled_at = await settling
    outcome.after_recovery = Divergence.of(await compare_all(stores, run.dataset, acked))
    if outcome.settled and not outcome.after_recovery.divergent and not outcome.after_recovery.duplicates:
        outcome.converge_s = round(max(0.0, settled_at - recovered_at), 3)
    if fault is not None:
        outcome.fault = fault.describe(t0)
    outcome.details.update(await strategy.verify())


async def answering(ts: TimedStore, key: Any, timeout_s: float = READY_TIMEOUT_S) -> None:
    """Wait until a restarted store answers a read, not only its port (Redis replaying its AOF answers LOADING,
    PostgreSQL in recovery refuses): else the read-back would count what it holds as lost. Any other failure, or
    the timeout, is left to the read-back to report; the time to converge still counts from the restart."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            await ts.store.read(ts.entity, key)
            return
        except Exception as exc:
            # a pooled connection the kill broke fails once; a server still starting refuses for a while
            if not any(s in type(exc).__name__ for s in (*STARTING_UP, "Connection")):
                return
        await asyncio.sleep(0.1)


async def compare_strategies(ctx: RunContext, fault_store: str, source: str = "none", kill_after: float = 0.3,
                             down_s: float = 2.0, settle_timeout_s: float = 60.0, payment_failure_rate: float = 0.1,
                             relay_workers: int = 2, relay_batch: int = 100) -> None:
    """Run the root instances under each of the run's strategies with the same fault, one after the other; those
    with a source of truth commit to `source` (a store whose kind plays source_of_truth)."""
    p = ctx.params
    check_compare(p, fault_store, kill_after, down_s, settle_timeout_s, payment_failure_rate)
    kinds = registry_of(ctx.settings)
    names = check_strategies(p.strategies or strategy_names(), p.stores, source, p.model)
    injector = None
    if fault_store != "none":
        if not ctx.stack.is_running(fault_store):
            raise UsageError(f"{fault_store} is not running on this {ctx.stack.backend} stack "
                             f"({ctx.stack.ws.state_dir}): start it with `sandbox up`")
        injector = FaultInjector(ctx.stack)
    assert p.seed is not None
    run = StrategyRun(ctx.settings, tuple(ctx.stores), f"sbx_{ctx.run_id}", ctx.dataset,
                      StrategyOptions(p.seed, p.concurrency, payment_failure_rate, relay_workers, relay_batch,
                                      source=source, order=tuple(kinds.kinds)),
                      p.op_timeout_s, p.options, p.keep, injector, fault_store, kill_after, down_s, settle_timeout_s)
    outcomes = ctx.results.ensure(StrategyRuns).outcomes
    for name in names:
        outcomes.append(await run_strategy(name, run, ctx.progress.bar(f"{name:<22}", p.orders).advance, ctx.notes))


def check_compare(run: RunParams, fault_store: str, kill_after: float, down_s: float, settle_timeout_s: float,
                  payment_failure_rate: float) -> None:
    """The step's parameters, checked against the run before anything connects. (The strategies named
    in the run are checked then too, by RunParams.validated; the step checks all of them when none is.)"""
    if fault_store != "none" and fault_store not in run.stores:
        raise UsageError(f"fault_store {fault_store!r} is not in the run: choose one of {', '.join(run.stores)} "
                         "or none")
    numbers = (kill_after, down_s, settle_timeout_s, payment_failure_rate)
    if any(isinstance(n, bool) or not isinstance(n, int | float) for n in numbers):
        raise UsageError("kill_after, down_s, settle_timeout_s and payment_failure_rate must be numbers")
    if not 0 < kill_after < 1:
        raise UsageError(f"kill_after must be a fraction between 0 and 1, got {kill_after}")
    if down_s < 0 or settle_timeout_s <= 0 or not 0 <= payment_failure_rate <= 1:
        raise UsageError("down_s must be >= 0, settle_timeout_s > 0 and payment_failure_rate in [0, 1]")


def _validate(params: dict[str, Any], run: RunParams) -> None:
    args = with_defaults(compare_strategies, params)
    check_compare(run, args["fault_store"], args["kill_after"], args["down_s"], args["settle_timeout_s"],
                  args["payment_failure_rate"])


def _check_kinds(params: dict[str, Any], run: RunParams, registry: StoreRegistry) -> None:
    """The strategies against the run's model, stores and source, before anything connects (all, when none is
    named). Which stores each brings along is decided on the run's model stores, when it runs."""
    check_strategies(run.strategies or strategy_names(), run.stores, params["source"], run.model)


STEPS = {"compare_strategies": StepSpec(compare_strategies, _validate, roles={"source": "source_of_truth"},
                                        check_kinds=_check_kinds)}
