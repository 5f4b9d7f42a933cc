"""The core experiment's steps: prepare, write, read back a sample, compare everything read back (any model)."""

from __future__ import annotations

import asyncio
from typing import Any

from sandbox.errors import UsageError
from sandbox.experiments.orders.result import ReadBack
from sandbox.measure.driver import LoadOutcome, write_everywhere
from sandbox.measure.load import closed_loop
from sandbox.measure.model_compare import Expected, ModelComparison, compare_store
from sandbox.measure.processes import WriteJob, write_in_processes
from sandbox.measure.stages import needs_base
from sandbox.measure.timeline import Timeline
from sandbox.measure.timing import TimedStore
from sandbox.scenario.context import RunContext
from sandbox.scenario.spec import RunParams
from sandbox.scenario.step import StepSpec
from sandbox.stores.connect import prepare_all
from sandbox.stores.registry import registry_of


async def prepare(ctx: RunContext) -> None:
    """Create each store's namespace and design for this run (marked as the run's, for `sandbox gc`), load the
    model's reference data."""
    await prepare_all([ts.store for ts in ctx.stores.values()], ctx.dataset, ctx.run_id,
                      registry_of(ctx.settings), ctx.notes)


async def write(ctx: RunContext) -> None:
    """Write the root instances' stream to every store, concurrently, each at its own pace or at --rate."""
    p = ctx.params
    plan = p.load_plan()
    timeline = Timeline("write", ctx.results_dir / "timeline.csv", ctx.progress,
                        None if p.duration_s else -(-p.orders // p.batch), plan=plan)
    for ts in ctx.stores.values():
        timeline.watch(ts.name, "write", ts.op("write"))
    stores = list(ctx.stores.values())
    async with timeline:  # per-second rows and the live progress; the hot path only counts
        if p.processes == "per-store" or p.workers > 1:
            assert p.seed is not None
            job = WriteJob(p.seed, p.orders, p.batch, p.op_timeout_s, plan, workers=p.workers,
                           spacing_ms=p.order_spacing_ms, model=ctx.model.path)
            outcomes = await write_in_processes(stores, job, timeline)
        else:
            outcomes = await write_everywhere(stores, ctx.dataset, p.concurrency, p.batch, plan=plan)
    ctx.record_loads("write", outcomes)


async def read(ctx: RunContext, sample: int = 1000) -> None:
    """Read a spread sample of root instances back by key from every store (the read latency columns)."""
    n = min(ctx.written.values(), default=ctx.params.orders)
    step = max(1, n // max(1, min(sample, n)))
    key = ctx.model.root_entity.key
    ids = [ctx.dataset.root(i)[key] for i in range(0, n, step)][:sample]
    timeline = Timeline("read", ctx.results_dir / "timeline.csv", ctx.progress, len(ids))
    for ts in ctx.stores.values():
        timeline.watch(ts.name, "read", ts.op("read"))

    async def feed(ts: TimedStore) -> LoadOutcome:
        misses = 0

        async def one(key: object) -> None:
            nonlocal misses
            ok, record = await ts.read(key)
            misses += ok and record is None

        elapsed_s = await closed_loop(ids, one, ctx.params.concurrency)
        ctx.results.ensure(ReadBack).read_misses[ts.name] = misses
        return LoadOutcome(elapsed_s)

    stores = list(ctx.stores.values())
    async with timeline:  # per-second rows and .hlog intervals, as for writes
        outcomes = await asyncio.gather(*(feed(ts) for ts in stores))
    ctx.record_loads("read", {ts.name: o for ts, o in zip(stores, outcomes, strict=True)})


async def compare(ctx: RunContext) -> None:
    """Read every root instance back from every store and compare with what was sent, and each store's own
    answer to the model's checked aggregates with the one the data gives (model_compare.py)."""
    comparisons = ctx.results.ensure(ReadBack).comparisons
    written = ctx.written
    n = max(written.values(), default=ctx.params.orders)  # duration-limited runs send each store a prefix
    root = ctx.model.root
    expected = Expected(ctx.dataset, n, {name: ts.store.kept(root) for name, ts in ctx.stores.items()},
                        ctx.model.checked_aggregates(), list(written.values()))

    async def one(ts: TimedStore) -> None:
        try:
            comparisons[ts.name] = await compare_store(ts.name, ts.store, expected, ts.name, written.get(ts.name))
        except Exception as exc:  # a store that cannot be read back is a finding, not a crash
            comparisons[ts.name] = ModelComparison(ts.name, root, error=f"{type(exc).__name__}: {exc}"[:300])

    await asyncio.gather(*(one(ts) for ts in ctx.stores.values()))


def _validate_write(params: dict[str, Any], run: RunParams) -> None:
    if problem := needs_base(run.stages, run.rate):
        raise UsageError(f"write: {problem}")


STEPS = {"prepare": StepSpec(prepare), "write": StepSpec(write, _validate_write), "read": StepSpec(read),
         "compare": StepSpec(compare)}
