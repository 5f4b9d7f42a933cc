"""Sweeps: how a mix's throughput and latency change with concurrency (closed loop) and with data-set size.

Stores are measured one after the other, so they do not compete for the client's CPU. Each point is a
short step of the model's mix on fresh histograms (sandbox.measure.mix_probe).
"""

from __future__ import annotations

from typing import Any

from sandbox.errors import UsageError
from sandbox.experiments.mixes.state import MixChoice, SweepPoint
from sandbox.experiments.mixes.steps import choose, load_to, mix_run, validate_choice
from sandbox.measure.load import LoadPlan
from sandbox.measure.mix_probe import MixProbe
from sandbox.scenario.context import RunContext
from sandbox.scenario.spec import RunParams
from sandbox.scenario.step import StepSpec, with_defaults
from sandbox.workload.mix import inserts


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


def _fixed_size(choice: MixChoice) -> MixChoice:
    if added := inserts(choice.model, choice.mix):
        raise UsageError(f"the data-set sweep keeps each size fixed: mix {choice.mix.name} inserts "
                         f"({', '.join(added)}); choose a mix without inserts (-p mix=NAME)")
    return choice


async def sweep_concurrency(ctx: RunContext, levels: Any = (1, 2, 4, 8, 16, 32), mix: Any = None,
                            distribution: str | None = None, skew: float = 0.99, step_s: float = 3.0,
                            warmup_s: float = 0.5) -> None:
    """Closed loop at each concurrency level in turn, per store: throughput and latency at each."""
    counts = _concurrency_levels(levels, ctx.params)
    p = ctx.params
    choice = choose(ctx.model, mix, distribution, skew)
    state = mix_run(ctx)
    if not state.loaded:
        await load_to(ctx, p.orders)
    state.choice = choice
    assert p.seed is not None
    points = state.sweeps.setdefault("concurrency", [])
    for ts in ctx.stores.values():
        probe = MixProbe(ts.store, ctx.dataset, choice.mix, state.loaded, p.seed, 99.0, p.op_timeout_s,
                         choice.distribution)
        for level in counts:
            plan = LoadPlan(level, None, "constant", warmup_s, step_s, p.seed).validated()
            points.append(SweepPoint(ts.name, level, await probe.step(plan)))


async def sweep_data_set(ctx: RunContext, sizes: Any = (10_000, 100_000, 1_000_000), mix: Any = None,
                         distribution: str | None = None, skew: float = 0.99, step_s: float = 3.0,
                         warmup_s: float = 0.5, batch: int = 500) -> None:
    """The same mix at each data-set size (roots loaded first, growing), per store, closed loop at --concurrency."""
    counts = _levels(sizes, "sizes")
    choice = _fixed_size(choose(ctx.model, mix, distribution, skew))
    state = mix_run(ctx)
    state.choice = choice
    p = ctx.params
    assert p.seed is not None
    points = state.sweeps.setdefault("data_set", [])
    for i, size in enumerate(counts):
        await load_to(ctx, size, batch)
        for ts in ctx.stores.values():
            probe = MixProbe(ts.store, ctx.dataset, choice.mix, size, p.seed + size, 99.0, p.op_timeout_s,
                             choice.distribution)
            probe.steps = i  # its versions go above the earlier sizes' (see MixProbe)
            plan = LoadPlan(p.concurrency, None, "constant", warmup_s, step_s, p.seed).validated()
            points.append(SweepPoint(ts.name, size, await probe.step(plan)))


def _validate_concurrency(params: dict[str, Any], run: RunParams) -> None:
    given = with_defaults(sweep_concurrency, params)
    _concurrency_levels(given["levels"], run)
    validate_choice(given, run, params)


def _validate_data_set(params: dict[str, Any], run: RunParams) -> None:
    given = with_defaults(sweep_data_set, params)
    _levels(given["sizes"], "sizes")
    _fixed_size(validate_choice(given, run, params))


STEPS = {"sweep_concurrency": StepSpec(sweep_concurrency, _validate_concurrency),
         "sweep_data_set": StepSpec(sweep_data_set, _validate_data_set)}
