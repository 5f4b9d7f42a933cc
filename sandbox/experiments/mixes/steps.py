"""Steps for workload mixes on any model: load a data set, run one of the model's mixes, check what it changed,
search for capacity.

    prepare -> load -> history -> mix -> check_updates          (ycsb-a .. ycsb-f, shop, mix)
    prepare -> load -> capacity                                 (capacity)

`load` is the bulk path and is reported apart from the mix (its own op name), so the run phase's
numbers are not mixed with loading's. A mix is a [mix.NAME] of the run's model (`-p mix=NAME`) or pattern
shares (`-p mix=get_order=90,update_status=10`); see sandbox/workload/mix.py.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from sandbox.config import Workspace
from sandbox.errors import SandboxError, UsageError
from sandbox.experiments.faults.state import history_of
from sandbox.experiments.mixes.state import MixChoice, MixRun
from sandbox.measure.capacity import SearchPlan, Slo, find_capacity
from sandbox.measure.driver import LoadOutcome
from sandbox.measure.load import LoadPlan, batched
from sandbox.measure.mix_probe import MixProbe
from sandbox.measure.pattern_checker import PatternCheck, check_store, written_by
from sandbox.measure.pattern_driver import run_pattern_mix_everywhere
from sandbox.measure.saturation import ClientLoad
from sandbox.measure.stages import absolute, needs_base
from sandbox.measure.timing import TimedStore, write_all
from sandbox.scenario.context import RunContext
from sandbox.scenario.spec import RunParams
from sandbox.scenario.step import StepSpec, whole_number, with_defaults
from sandbox.stores.contract import NotAnswerable, refuses_under_contention
from sandbox.workload import model_file
from sandbox.workload.mix import key_distribution, resolve_mix
from sandbox.workload.schema import Model

LOAD_TIMEOUT_S = 120.0


def _record(ctx: RunContext, store: str, op: str, elapsed_s: float, client: ClientLoad | None = None) -> None:
    """What a phase gave one store's op besides its histograms: the time its counts divide by."""
    ctx.record_loads(op, {store: LoadOutcome(elapsed_s, client)})


def _elapsed(ctx: RunContext, store: str, op: str) -> float:
    outcome = ctx.loads.get(store, {}).get(op)
    return outcome.elapsed_s if outcome is not None else 0.0


def mix_run(ctx: RunContext) -> MixRun:
    state = ctx.results.ensure(MixRun)
    state.root = ctx.model.root
    return state


def choose(model: Model, mix: Any, distribution: str | None = None, skew: float = 0.99, hot_fraction: float = 0.2,
           hot_share: float = 0.8) -> MixChoice:
    """The mix a phase names, on the run's model (one line naming the choices when it is not there)."""
    return MixChoice(model, resolve_mix(model, mix), key_distribution(distribution, skew, hot_fraction, hot_share))


async def load(ctx: RunContext, orders: int | None = None, batch: int = 500) -> None:
    """Bulk-load the data set (the first `orders` root instances of the stream, default --orders) into every store."""
    await load_to(ctx, orders or ctx.params.orders, batch)


async def load_to(ctx: RunContext, n: int, batch: int = 500) -> None:
    """Grow the loaded data set to the first `n` root instances of the stream, in every store (op `load`)."""
    state = mix_run(ctx)
    first = state.loaded
    if n <= first:
        return
    advance = ctx.tracker("load", n - first)
    key = ctx.model.root_entity.key

    async def one(ts: TimedStore) -> None:
        # Bulk batches may take long on a slow server; the run's per-operation timeout is for the mix.
        loader = TimedStore(ts.store, max(LOAD_TIMEOUT_S, ctx.params.op_timeout_s))
        if "load" in ts.stats:
            loader.stats["load"] = ts.stats["load"]
        loop = asyncio.get_running_loop()
        start = loop.time()
        for chunk in batched(ctx.dataset.roots(first, n), batch):
            keys = tuple(str(inst[key]) for inst in chunk)
            ok, _ = await loader.call("load", lambda c=chunk: write_all(ts.store, c), keys)  # type: ignore[misc]
            if not ok:
                errors = loader.op("load").first_errors
                raise SandboxError(f"loading the data set into {ts.name} failed: {errors[-1] if errors else '?'}")
            advance(ts.name, len(chunk))
        ts.stats["load"] = loader.op("load")
        _record(ctx, ts.name, "load", _elapsed(ctx, ts.name, "load") + loop.time() - start)

    await asyncio.gather(*(one(ts) for ts in ctx.stores.values()))
    state.loaded = max(first, n)


def _loaded(ctx: RunContext, step: str) -> MixRun:
    state = mix_run(ctx)
    if not state.loaded:
        raise SandboxError(f"step {step!r} needs a data set: put a `load` phase before it")
    return state


def _control(ts: TimedStore, choice: MixChoice) -> str:
    """How the store takes the mix's writes: atomically (a conditional write on the server), optimistically (a
    lost race refuses), or not at all."""
    writes = [p for p in written_by(choice.model, (choice.model.patterns[n] for n, _ in choice.mix.weights))
              if p.kind != "insert"]
    answered = [a for a in (ts.store.answer(p) for p in writes) if not isinstance(a, NotAnswerable)]
    if not answered:
        return "-"
    optimistic = [p.name for p in writes if refuses_under_contention(ts.store.answer(p))]
    return f"optimistic: {', '.join(optimistic)}" if optimistic else "atomic"


async def mix(ctx: RunContext, mix: Any = None, distribution: str | None = None, skew: float = 0.99,
              hot_fraction: float = 0.2, hot_share: float = 0.8, settle_ops: int = 64,
              operations: int = 10_000) -> None:
    """Run one of the model's mixes on every store: `operations` of the seeded stream (or --duration seconds)
    under --rate or --concurrency."""
    choice = choose(ctx.model, mix, distribution, skew, hot_fraction, hot_share)
    state = _loaded(ctx, "mix")
    state.choice = choice
    p = ctx.params
    assert p.seed is not None
    history = history_of(ctx)
    stores = list(ctx.stores.values())
    outcomes = await run_pattern_mix_everywhere([(ts, ts.store) for ts in stores], ctx.dataset, choice.mix,
                                                state.loaded, p.seed, p.load_plan(),
                                                None if p.duration_s else operations,
                                                history.updates if history is not None else None,
                                                settle_ops=settle_ops, distribution=choice.distribution)
    for ts in stores:
        outcome = outcomes[ts.name]
        state.left_out[ts.name] = outcome.left_out
        state.not_answerable[ts.name] = outcome.not_answerable
        state.orphaned[ts.name] = outcome.orphaned
        state.not_found[ts.name] = outcome.not_found
        state.inserted[ts.name] = outcome.inserted
        state.control[ts.name] = _control(ts, choice)
        for name in ts.stats:
            if name != "load":
                _record(ctx, ts.name, name, outcome.elapsed_s, outcome.client)


async def check_updates(ctx: RunContext) -> None:
    """Read back every instance the mix changed (states by version, counters against their floor) on every store;
    classify (docs/workloads.md)."""
    history = history_of(ctx)
    if history is None:
        raise SandboxError("step 'check_updates' needs the operation history: put a `history` phase before `mix`")
    state = mix_run(ctx)
    if state.choice is None:
        raise SandboxError("step 'check_updates' checks what a mix changed: put a `mix` phase before it")
    model = ctx.model
    patterns = [model.patterns[name] for name, _ in state.choice.mix.weights]

    async def one(ts: TimedStore) -> PatternCheck:
        refused = state.not_answerable.get(ts.name, {})
        sent = [p for p in patterns if p.name not in refused and (p.then is None or p.then not in refused)]
        if not written_by(model, sent) and written_by(model, patterns):
            result = PatternCheck(ts.name)
            result.skipped = "; ".join(f"{name}: {why}" for name, why in refused.items())
            return result
        upto = state.loaded + state.inserted.get(ts.name, 0)
        return await check_store(ts.name, ts.store, ctx.dataset, history.updates, sent, upto, ctx.params.concurrency)

    done = await asyncio.gather(*(one(ts) for ts in ctx.stores.values()))
    state.checks = {c.store: c for c in done}


async def capacity(ctx: RunContext, slo: str = "p99=50ms", mix: Any = None, distribution: str | None = None,
                   skew: float = 0.99, start_rate: float = 200.0, factor: float = 2.0, precision: float = 0.1,
                   max_rate: float = 100_000.0, step_s: float = 3.0, warmup_s: float = 1.0,
                   max_steps: int = 12) -> None:
    """Per store, one after the other: the highest open-loop rate of the mix whose percentile meets --slo."""
    target = Slo.parse(slo)
    choice = choose(ctx.model, mix, distribution, skew)
    search = SearchPlan(start_rate, factor, precision, max_rate, max_steps=max_steps).validated()
    state = _loaded(ctx, "capacity")
    state.choice = choice
    p = ctx.params
    assert p.seed is not None
    for ts in ctx.stores.values():
        probe = MixProbe(ts.store, ctx.dataset, choice.mix, state.loaded, p.seed, target.percentile, p.op_timeout_s,
                         choice.distribution)
        state.capacity[ts.name] = await find_capacity(ts.name, probe.at_rate(p.concurrency, warmup_s, step_s,
                                                                     p.stages),
                                                      target, search)


def run_model(run: RunParams) -> Model:
    """The run's model, for validators (the runner loads it again once they pass; a bad file is one line)."""
    return model_file.load(model_file.find(Workspace.from_env(dict(os.environ)).project_dir, run.model))


def validate_choice(params: dict[str, Any], run: RunParams, given: dict[str, Any] | None = None) -> MixChoice:
    """A phase's mix and distribution on the run's model (params with the step's defaults filled in; `given`: the
    phase's own, to tell a shape parameter given without a distribution)."""
    shaped = sorted({"skew", "hot_fraction", "hot_share"} & set(given or {}))
    if params.get("distribution") is None and shaped:
        raise UsageError(f"-p {shaped[0]} shapes -p distribution=...: give one (zipfian, latest, hotspot), or leave it "
                         "out and each pattern keeps the model's own key distribution")
    return choose(run_model(run), params.get("mix"), params.get("distribution"), params.get("skew", 0.99),
                  params.get("hot_fraction", 0.2), params.get("hot_share", 0.8))


def _one_process(run: RunParams) -> None:
    if run.processes != "one":
        raise UsageError("mixes run every store on one event loop: leave out --processes (per-store is for `write`)")


def _validate_mix(params: dict[str, Any], run: RunParams) -> None:
    given = with_defaults(mix, params)
    validate_choice(given, run, params)
    whole_number("mix", "settle_ops", given["settle_ops"], 0, 1_000_000)
    whole_number("mix", "operations", given["operations"], 1, 10**9)
    _one_process(run)
    if problem := needs_base(run.stages, run.rate):
        raise UsageError(f"mix: {problem}")


def _validate_capacity(params: dict[str, Any], run: RunParams) -> None:
    given = with_defaults(capacity, params)
    Slo.parse(str(given["slo"]))
    validate_choice(given, run, params)
    SearchPlan(float(given["start_rate"]), float(given["factor"]), float(given["precision"]),
               float(given["max_rate"]), max_steps=int(given["max_steps"])).validated()
    _one_process(run)
    if run.rate is not None or (run.duration_s is not None and not run.stages):
        raise UsageError("capacity sets its own rates and step lengths: leave out --rate and --duration "
                         "(use -p step_s=... -p start_rate=...)")
    if fixed := absolute(run.stages):
        raise UsageError(f"capacity: stage {fixed[0]} has a rate of its own; a capacity step shapes the rate it "
                         "tries, so give rates as xN (e.g. spike:2s:x3)")
    if run.stages:  # each step is the stages around the rate tried: its warm-up must fit in them
        LoadPlan(run.concurrency, float(given["start_rate"]), warmup_s=float(given["warmup_s"]),
                 stages=run.stages).validated()


STEPS = {"load": StepSpec(load), "mix": StepSpec(mix, _validate_mix), "check_updates": StepSpec(check_updates),
         "capacity": StepSpec(capacity, _validate_capacity)}
