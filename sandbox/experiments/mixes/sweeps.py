"""Sweeps: how a mix's throughput and latency change with concurrency (closed loop) and with data-set size.

Stores are measured one after the other, so they do not compete for the client's CPU. Each point is a
short step of the mix on fresh histograms (sandbox.measure.mix_probe).
"""

from __future__ import annotations

from typing import Any

from sandbox.errors import UsageError
from sandbox.experiments.mixes.state import SweepPoint
from sandbox.experiments.mixes.steps import load_to, mix_run
from sandbox.measure.load import LoadPlan
from sandbox.measure.mix_probe import MixProbe
from sandbox.scenario.context import RunContext
from sandbox.scenario.spec import RunParams
from sandbox.scenario.step import Step, StepSpec, with_defaults
from sandbox.workload.mix import MixSpec, parse_mix


def _levels(values: Any, what: str) -> list[int]:
    try:
        levels = sorted({int(v) for v in values})
    except (TypeError, ValueError):
        raise UsageError(f"{what} must be a list of whole numbers, e.g. [1, 4, 16]; got {values!r}") from None
    if not levels or levels[0] < 1:
        raise UsageError(f"{what} must be positive whole numbers, got {values!r}")
    return levels


def _concurrency_levels(values: Any, run: RunParams) -> list[int]:
    counts = _levels(values, "levels")
    if counts[-1] > run.concurrency:
        raise UsageError(f"sweep level {counts[-1]} is above --concurrency {run.concurrency}, the stores' "
                         f"connection pool: run with --concurrency {counts[-1]}")
    return counts


def _fixed_size_mix(mix: Any, distribution: str, skew: float) -> MixSpec:
    spec = parse_mix(mix, distribution, skew)
    if {"insert", "place"} & set(spec.names):
        raise UsageError("the data-set sweep keeps each size fixed: leave insert and place out of its mix")
    return spec


async def sweep_concurrency(ctx: RunContext, levels: Any = (1, 2, 4, 8, 16, 32), mix: Any = "read=95,update=5",
                            distribution: str = "zipfian", skew: float = 0.99, step_s: float = 3.0,
                            warmup_s: float = 0.5) -> None:
    """Closed loop at each concurrency level in turn, per store: throughput and latency at each."""
    counts = _concurrency_levels(levels, ctx.params)
    p = ctx.params
    spec = parse_mix(mix, distribution, skew)
    state = mix_run(ctx)
    if not state.loaded:
        await load_to(ctx, p.orders)
    state.spec = spec
    assert p.seed is not None
    points = state.sweeps.setdefault("concurrency", [])
    for ts in ctx.stores.values():
        probe = MixProbe(ts.store, ctx.workload, spec, state.loaded, p.seed, state.ids, 99.0, p.op_timeout_s)
        for level in counts:
            plan = LoadPlan(level, None, "constant", warmup_s, step_s, p.seed).validated()
            points.append(SweepPoint(ts.name, level, await probe.step(plan)))


async def sweep_data_set(ctx: RunContext, sizes: Any = (10_000, 100_000, 1_000_000), mix: Any = "read=95,update=5",
                         distribution: str = "zipfian", skew: float = 0.99, step_s: float = 3.0,
                         warmup_s: float = 0.5, batch: int = 500) -> None:
    """The same mix at each data-set size (orders loaded first, growing), per store, closed loop at --concurrency."""
    counts = _levels(sizes, "sizes")
    spec = _fixed_size_mix(mix, distribution, skew)
    state = mix_run(ctx)
    state.spec = spec
    p = ctx.params
    assert p.seed is not None
    points = state.sweeps.setdefault("data_set", [])
    for i, size in enumerate(counts):
        await load_to(ctx, size, batch)
        for ts in ctx.stores.values():
            probe = MixProbe(ts.store, ctx.workload, spec, size, p.seed + size, state.ids, 99.0, p.op_timeout_s)
            probe.steps = i  # its versions go above the earlier sizes' (see MixProbe)
            plan = LoadPlan(p.concurrency, None, "constant", warmup_s, step_s, p.seed).validated()
            points.append(SweepPoint(ts.name, size, await probe.step(plan)))




def _param(step: Step, params: dict[str, Any], name: str) -> Any:
    return with_defaults(step, params)[name]


def _validate_concurrency(params: dict[str, Any], run: RunParams) -> None:
    _concurrency_levels(_param(sweep_concurrency, params, "levels"), run)
    parse_mix(*(_param(sweep_concurrency, params, k) for k in ("mix", "distribution", "skew")))


def _validate_data_set(params: dict[str, Any], run: RunParams) -> None:
    _levels(_param(sweep_data_set, params, "sizes"), "sizes")
    _fixed_size_mix(*(_param(sweep_data_set, params, k) for k in ("mix", "distribution", "skew")))


STEPS = {"sweep_concurrency": StepSpec(sweep_concurrency, _validate_concurrency),
         "sweep_data_set": StepSpec(sweep_data_set, _validate_data_set)}
