"""The library of steps a scenario's phases name. Each is `async def step(ctx, **params)`."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from sandbox.errors import UsageError
from sandbox.measure.consistency import Comparison, compare_store, expected_totals
from sandbox.measure.driver import LoadOutcome, write_everywhere
from sandbox.measure.load import closed_loop
from sandbox.measure.processes import WriteJob, write_in_processes
from sandbox.measure.timeline import Timeline
from sandbox.measure.timing import TimedStore
from sandbox.scenario.context import RunContext
from sandbox.stores.connect import prepare_all
from sandbox.stores.registry import registry_of

Step = Callable[..., Awaitable[None]]


def with_defaults(step: Step, params: dict[str, Any]) -> dict[str, Any]:
    """A phase's parameters for `step`, each one it leaves out at the step's default (for validators)."""
    defaults = {name: p.default for name, p in inspect.signature(step).parameters.items()
                if name != "ctx" and p.default is not inspect.Parameter.empty}
    return {**defaults, **params}


def whole_number(step: str, name: str, value: Any, low: int, high: int, why: str = "") -> None:
    """A step parameter that must be an int in [low, high] (a TOML true is no number)."""
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise UsageError(f"{step}: {name} must be a whole number from {low} to {high}{why}, got {value!r}")


async def prepare(ctx: RunContext) -> None:
    """Create each store's namespace for this run (marked as the run's, for `sandbox gc`), load the catalog."""
    await prepare_all([ts.store for ts in ctx.stores.values()], ctx.workload.catalog, ctx.run_id,
                      registry_of(ctx.settings), ctx.notes)


async def write(ctx: RunContext) -> None:
    """Write the order stream to every store, concurrently, each at its own pace or at --rate."""
    p = ctx.params
    plan = p.load_plan()
    timeline = Timeline("write", ctx.results_dir / "timeline.csv", ctx.progress,
                        None if p.duration_s else -(-p.orders // p.batch))
    for ts in ctx.stores.values():
        timeline.watch(ts.name, "write", ts.op("write"))
    stores = list(ctx.stores.values())
    async with timeline:  # per-second rows and the live progress; the hot path only counts
        if p.processes == "per-store" or p.workers > 1:
            assert p.seed is not None
            job = WriteJob(p.seed, p.orders, p.batch, p.op_timeout_s, plan, workers=p.workers,
                           spacing_ms=p.order_spacing_ms)
            outcomes = await write_in_processes(stores, job, timeline)
        else:
            outcomes = await write_everywhere(stores, ctx.workload, p.concurrency, p.batch, plan=plan)
    ctx.record_loads("write", outcomes)


async def read(ctx: RunContext, sample: int = 1000) -> None:
    """Read a spread sample of orders back by id from every store (the read latency columns)."""
    n = min(ctx.written.values(), default=ctx.params.orders)
    step = max(1, n // max(1, min(sample, n)))
    ids = [ctx.workload.order(i).id for i in range(0, n, step)][:sample]
    timeline = Timeline("read", ctx.results_dir / "timeline.csv", ctx.progress, len(ids))
    for ts in ctx.stores.values():
        timeline.watch(ts.name, "read", ts.op("read"))

    async def feed(ts: TimedStore) -> LoadOutcome:
        misses = 0

        async def one(order_id: str) -> None:
            nonlocal misses
            ok, record = await ts.read(order_id)
            misses += ok and record is None

        elapsed_s = await closed_loop(ids, one, ctx.params.concurrency)
        ctx.read_misses[ts.name] = misses
        return LoadOutcome(elapsed_s)

    stores = list(ctx.stores.values())
    async with timeline:  # per-second rows and .hlog intervals, as for writes
        outcomes = await asyncio.gather(*(feed(ts) for ts in stores))
    ctx.record_loads("read", {ts.name: o for ts, o in zip(stores, outcomes, strict=True)})


async def compare(ctx: RunContext) -> None:
    """Read every order back from every store and compare with what was sent."""
    # Duration-limited runs send each store a prefix of the stream, of its own length.
    records = [o.record() for o in ctx.workload.orders(0, max(ctx.written.values(), default=ctx.params.orders))]

    async def one(ts: TimedStore) -> None:
        expected = {r.order_id: r for r in records[:ctx.written.get(ts.name, len(records))]}
        totals = expected_totals(expected.values())
        try:
            aggs = await ts.store.aggregates()
            ctx.comparisons[ts.name] = await compare_store(ts.name, expected, ts.store.scan(), totals, aggs)
        except Exception as exc:  # a store that cannot be read back is a finding, not a crash
            ctx.comparisons[ts.name] = Comparison(ts.name, error=f"{type(exc).__name__}: {exc}"[:300],
                                                  missing=list(expected))

    await asyncio.gather(*(one(ts) for ts in ctx.stores.values()))


STEPS: dict[str, Step] = {"prepare": prepare, "write": write, "read": read, "compare": compare}
