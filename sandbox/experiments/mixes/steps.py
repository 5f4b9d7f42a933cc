"""Steps for workload mixes: load a data set, run a mix, check the updates, search for capacity.

    prepare -> load -> history -> mix -> check_updates          (ycsb-a .. ycsb-f, shop)
    prepare -> load -> capacity                                 (capacity)

`load` is the bulk path and is reported apart from the mix (its own op name), so the run phase's
numbers are not mixed with loading's.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from typing import Any

from sandbox.errors import SandboxError, UsageError
from sandbox.experiments.faults.state import history_of
from sandbox.experiments.mixes.state import MixRun
from sandbox.measure.capacity import SearchPlan, Slo, find_capacity
from sandbox.measure.driver import LoadOutcome
from sandbox.measure.load import LoadPlan, batched
from sandbox.measure.mix_driver import run_mix_everywhere
from sandbox.measure.mix_probe import rate_probe
from sandbox.measure.saturation import ClientLoad
from sandbox.measure.stages import absolute, needs_base
from sandbox.measure.timing import TimedStore
from sandbox.measure.update_checker import FinalState, UpdateCheck, check_orders, check_stock
from sandbox.scenario.context import RunContext
from sandbox.scenario.spec import RunParams
from sandbox.scenario.step import StepSpec, with_defaults
from sandbox.stores.base import Capability
from sandbox.workload.mix import parse_mix

READ_BACK_CHUNK = 1000
LOAD_TIMEOUT_S = 120.0


def _record(ctx: RunContext, store: str, op: str, elapsed_s: float, client: ClientLoad | None = None) -> None:
    """What a phase gave one store's op besides its histograms: the time its counts divide by."""
    ctx.record_loads(op, {store: LoadOutcome(elapsed_s, client)})


def _elapsed(ctx: RunContext, store: str, op: str) -> float:
    outcome = ctx.loads.get(store, {}).get(op)
    return outcome.elapsed_s if outcome is not None else 0.0


def mix_run(ctx: RunContext) -> MixRun:
    return ctx.results.ensure(MixRun)


async def load(ctx: RunContext, orders: int | None = None, batch: int = 500) -> None:
    """Bulk-load the data set (the first `orders` orders of the stream, default --orders) into every store."""
    await load_to(ctx, orders or ctx.params.orders, batch)


async def load_to(ctx: RunContext, n: int, batch: int = 500) -> None:
    """Grow the loaded data set to the first `n` orders of the stream, in every store (op `load`)."""
    state = mix_run(ctx)
    first = state.loaded
    if n <= first:
        return
    ids = state.ids
    while len(ids) < n:
        ids.append(ctx.workload.order(len(ids)).id)
    advance = ctx.tracker("load", n - first)

    async def one(ts: TimedStore) -> None:
        # Bulk batches may take long on a slow server; the run's per-operation timeout is for the mix.
        loader = TimedStore(ts.store, max(LOAD_TIMEOUT_S, ctx.params.op_timeout_s))
        if "load" in ts.stats:
            loader.stats["load"] = ts.stats["load"]
        loop = asyncio.get_running_loop()
        start = loop.time()
        for chunk in batched(ctx.workload.orders(first, n), batch):
            ok, _ = await loader.call("load", lambda c=chunk: ts.store.write_batch(c), ())  # type: ignore[misc]
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


async def mix(ctx: RunContext, mix: Any = "read=50,update=50", distribution: str = "zipfian",
              skew: float = 0.99, hot_fraction: float = 0.2, hot_share: float = 0.8, scan_max: int = 100,
              latest_n: int = 10, settle_ops: int = 64, operations: int = 10_000) -> None:
    """Run the mix on every store: `operations` of the seeded stream (or --duration seconds) under --rate or
    --concurrency."""
    spec = parse_mix(mix, distribution, skew, hot_fraction, hot_share, scan_max, latest_n, settle_ops)
    state = _loaded(ctx, "mix")
    state.spec = spec
    p = ctx.params
    assert p.seed is not None
    history = history_of(ctx)
    outcomes = await run_mix_everywhere(list(ctx.stores.values()), ctx.workload, spec, state.loaded, p.seed,
                                        p.load_plan(), state.ids, None if p.duration_s else operations,
                                        history.updates if history is not None else None)
    for store, outcome in outcomes.items():
        state.left_out[store] = outcome.left_out
        state.not_found[store] = outcome.not_found
        for name in ctx.stores[store].stats:
            if name != "load":
                _record(ctx, store, name, outcome.elapsed_s, outcome.client)


async def check_updates(ctx: RunContext) -> None:
    """Read back every updated order's state and every touched product's stock; classify (docs/workloads.md)."""
    history = history_of(ctx)
    if history is None:
        raise SandboxError("step 'check_updates' needs the operation history: put a `history` phase before `mix`")
    state = mix_run(ctx)
    initial = {p.id: p.inventory_count for p in ctx.workload.catalog.products}

    async def one(ts: TimedStore) -> UpdateCheck:
        result = UpdateCheck(ts.name)
        if Capability.STATUS_UPDATE not in ts.store.capabilities:
            result.skipped = ts.store.concurrency_control or "keeps no order versions"
            return result
        updates = history.updates.of(ts.name)
        try:
            final: dict[str, FinalState | None] = {}
            ids = list(updates)
            for start in range(0, len(ids), READ_BACK_CHUNK):
                got = await ts.store.order_states(ids[start:start + READ_BACK_CHUNK])
                final.update({i: FinalState(s, v) for i, (s, v) in got.items()})
            check_orders(result, updates, final)
            if (takes := history.updates.stock.get(ts.name)) is not None:
                touched = sorted(set(takes.acknowledged) | set(takes.unknown))
                levels = await ts.store.stock_levels(touched)
                check_stock(result, takes, initial, dict(levels))
        except Exception as exc:  # a store that cannot be read back is a finding, not a crash
            result.error = f"{type(exc).__name__}: {exc}"[:300]
        return result

    done = await asyncio.gather(*(one(ts) for ts in ctx.stores.values()))
    state.checks = {c.store: c for c in done}


async def capacity(ctx: RunContext, slo: str = "p99=50ms", mix: Any = "read=95,update=5",
                   distribution: str = "zipfian", skew: float = 0.99, start_rate: float = 200.0,
                   factor: float = 2.0, precision: float = 0.1, max_rate: float = 100_000.0,
                   step_s: float = 3.0, warmup_s: float = 1.0, max_steps: int = 12) -> None:
    """Per store, one after the other: the highest open-loop rate of the mix whose percentile meets --slo."""
    target = Slo.parse(slo)
    spec = parse_mix(mix, distribution, skew)
    search = SearchPlan(start_rate, factor, precision, max_rate, max_steps=max_steps).validated()
    state = _loaded(ctx, "capacity")
    state.spec = spec
    p = ctx.params
    assert p.seed is not None

    for ts in ctx.stores.values():
        probe = rate_probe(ts.store, ctx.workload, spec, state.loaded, p.seed, state.ids, p.concurrency, warmup_s,
                           step_s, target.percentile, p.op_timeout_s, p.stages)
        state.capacity[ts.name] = await find_capacity(ts.name, probe, target, search)




def _call_with(fn: Callable[..., Any], params: dict[str, Any], **fixed: Any) -> Any:
    """Call a parser with the phase parameters it takes (the step's defaults stand in for the rest)."""
    accepted = inspect.signature(fn).parameters
    return fn(**{k: v for k, v in params.items() if k in accepted}, **fixed)


def _one_process(run: RunParams) -> None:
    if run.processes != "one":
        raise UsageError("mixes run every store on one event loop: leave out --processes (per-store is for `write`)")


def _validate_mix(params: dict[str, Any], run: RunParams) -> None:
    _call_with(parse_mix, with_defaults(mix, params))
    _one_process(run)
    if problem := needs_base(run.stages, run.rate):
        raise UsageError(f"mix: {problem}")


def _validate_capacity(params: dict[str, Any], run: RunParams) -> None:
    given = with_defaults(capacity, params)
    Slo.parse(str(given["slo"]))
    _call_with(parse_mix, given)
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
