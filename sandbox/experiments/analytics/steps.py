"""Steps of the analytics scenario: the indexes the query set needs, then the questions.

    prepare -> analytics_indexes -> write -> analytics
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path
from typing import Any

from sandbox.errors import UsageError
from sandbox.experiments.analytics.answers import query_params
from sandbox.experiments.analytics.run import AnalyticsRun, ask_all
from sandbox.scenario.context import RunContext
from sandbox.scenario.spec import RunParams
from sandbox.scenario.step import StepSpec
from sandbox.stores.analytics import MODEL, Analytics, Query

CENT = Decimal("0.01")


def _asked(ctx: RunContext, reference: str | None = None) -> list[str]:
    names = [name for name, ts in ctx.stores.items() if isinstance(ts.store, Analytics)]
    if reference is not None and reference not in names:
        raise UsageError(f"the analytics answers are compared with {reference}'s: add it to --stores "
                         "(its model store must answer the query set)")
    for name in ctx.stores:
        if name not in names:
            ctx.notes.append(f"analytics: {name} does not answer the query set (its model store has no analytics)")
    return names


async def analytics_indexes(ctx: RunContext) -> None:
    """Create what each store needs for the query set (after prepare, before the load)."""
    names = _asked(ctx)

    async def one(name: str) -> list[str]:
        store = ctx.stores[name].store
        assert isinstance(store, Analytics)
        return await store.prepare_analytics(ctx.dataset)

    created = await asyncio.gather(*(one(n) for n in names))
    state = _state(ctx)
    state.indexes = dict(zip(names, created, strict=True))


async def analytics(ctx: RunContext, reference: str, repeats: int = 5, window_share: float = 0.02,
                    min_total: float = 1000.0, top: int = 10) -> None:
    """Ask each store the query set: once cold, then `repeats` times warm; compare with the reference's answer."""
    _check(repeats, window_share, top, min_total)
    names = _asked(ctx, reference)
    loaded = min((ctx.written.get(n, ctx.params.orders) for n in names), default=ctx.params.orders)
    if loaded < 1:
        raise UsageError("analytics: no orders were loaded; put a `write` phase before `analytics`")
    state = _state(ctx)
    state.params = query_params(ctx.dataset, loaded, window_share, Decimal(str(min_total)).quantize(CENT), top)
    state.loaded, state.repeats, state.reference = loaded, repeats, reference
    bar = ctx.progress.bar("analytics", len(names) * len(Query))
    await ask_all(state, [ctx.stores[n] for n in names], lambda: bar.advance(1))


def _check(repeats: int, window_share: float, top: int, min_total: float) -> None:
    whole = all(isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in (repeats, top))
    fractions = all(isinstance(n, int | float) and not isinstance(n, bool) for n in (window_share, min_total))
    if not whole or not fractions or not 0 < window_share <= 1 or min_total < 0:
        raise UsageError("analytics: repeats and top must be whole numbers >= 1, window_share a number in (0, 1], "
                         "min_total a number >= 0")


WHY = "the analytics questions are about the orders model (customers, order totals, items)"


def orders_only(step: str, run: RunParams, why: str = WHY) -> None:
    """A step about the orders model's meaning: another model is refused before anything connects."""
    if run.model != MODEL and Path(run.model).stem != MODEL:
        raise UsageError(f"{step}: {why}; --model {run.model} has no such meaning: drop --model or use "
                         f"--model {MODEL}")


def _validate_indexes(params: dict[str, Any], run: RunParams) -> None:
    orders_only("analytics_indexes", run)


def _validate(params: dict[str, Any], run: RunParams) -> None:
    orders_only("analytics", run)
    _check(params.get("repeats", 5), params.get("window_share", 0.02), params.get("top", 10),
           params.get("min_total", 1000.0))


def _state(ctx: RunContext) -> AnalyticsRun:
    return ctx.results.ensure(AnalyticsRun, lambda: AnalyticsRun(query_params(ctx.dataset, max(1, ctx.params.orders)),
                                                                 0, 0))


STEPS = {"analytics_indexes": StepSpec(analytics_indexes, _validate_indexes),
         "analytics": StepSpec(analytics, _validate, roles={"reference": "analytics_reference"})}
