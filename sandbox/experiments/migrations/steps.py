"""The `migration` scenario's step: a store's migrations applied one by one under open-loop writes, what each
cost the workload, then all rolled back and the schema compared with the original."""

from __future__ import annotations

import asyncio
import csv
import itertools
import time
from collections.abc import Iterator
from typing import Any

from sandbox.errors import UsageError
from sandbox.experiments.analytics.steps import orders_only
from sandbox.experiments.migrations.results import MigrationImpact, MigrationRun
from sandbox.measure.ddl_impact import Recorder, WaitSample, Window, in_window, timeline_rows
from sandbox.measure.load import LoadPlan, drive
from sandbox.measure.timing import TimedStore
from sandbox.scenario.context import RunContext
from sandbox.scenario.spec import RunParams
from sandbox.scenario.step import StepSpec
from sandbox.stores import migrations as mig
from sandbox.stores.connect import prepare_all
from sandbox.stores.registry import registry_of
from sandbox.workload.dataset import Instance

CAPACITY_PROBE_S = 1.5
WARMUP_S = 1.0


def _diff(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    out = []
    for key in sorted(set(before) | set(after)):
        b = {repr(x) for x in before.get(key, [])}
        a = {repr(x) for x in after.get(key, [])}
        out += [f"{key} missing: {x}" for x in sorted(b - a)] + [f"{key} extra: {x}" for x in sorted(a - b)]
    return out


async def migrate_under_load(ctx: RunContext, store: str = "", rate: float = 0.0, baseline_s: float = 3.0,
                             settle_s: float = 1.5, fill_rows: int = 100_000, lock_timeout_ms: int = 0,
                             retries: int = 0, retry_wait_ms: int = 250, reader_s: float = 0.0,
                             only: list[str] | None = None, sample_ms: int = 50) -> None:
    """Baseline, then each migration (and finally every rollback) while writes arrive at a fixed rate."""
    store = store or next(iter(ctx.stores))  # default: the run's first store (--stores)
    if store not in ctx.stores:
        raise UsageError(f"migration: store {store!r} is not in this run (--stores)")
    ts = ctx.stores[store]
    tool = mig.kit(ts.store)
    chosen = [m for m in mig.load(ts.store) if not only or m.name in only or str(m) in only]
    if not chosen:
        raise UsageError(f"migration: no migration of {store} matches {only}")
    await prepare_all([ts.store], ctx.dataset, ctx.run_id, registry_of(ctx.settings), ctx.notes)
    if fill_rows:
        ctx.progress.note(f"filling {store} with {fill_rows} rows")
        await tool.fill(fill_rows)
    schema_before = await tool.schema()
    next_order = 0

    def orders() -> Iterator[Instance]:
        nonlocal next_order
        while True:
            yield ctx.dataset.root(next_order)
            next_order += 1

    stream = orders()
    source = "given"
    rate = rate or ctx.params.rate or 0.0
    if not rate:  # half the capacity a short closed-loop burst reaches (kept out of the results)
        probe = TimedStore(ts.store, ctx.params.op_timeout_s, entity=ts.entity, key=ts.key)
        burst = await drive(([next(stream)] for _ in itertools.count()), probe.write_batch,
                            LoadPlan(ctx.params.concurrency, duration_s=CAPACITY_PROBE_S))
        capacity = burst.measured / max(burst.measured_s, 1e-3)
        rate = max(1.0, capacity / 2)
        source = f"half of a measured capacity of {capacity:.0f}/s"

    rec = Recorder(sample_ns=sample_ms * 1_000_000)
    ts.listeners.append(rec)
    stop = asyncio.Event()

    def work() -> Iterator[list[Instance]]:
        while not stop.is_set():
            yield [next(stream)]

    async def write(batch: list[Instance], intended_ns: int, begun_ns: int) -> None:
        await ts.write_batch(batch, intended_ns, begun_ns)

    async def sample() -> None:
        while not stop.is_set():
            waits = await tool.waits()
            if waits is not None:
                rec.waits.append(WaitSample(time.perf_counter_ns(), waits))
            await asyncio.sleep(sample_ms / 1000)

    plan = LoadPlan(max(ctx.params.concurrency, 16), rate, seed=ctx.params.seed or 0).validated()
    start_ns = time.perf_counter_ns()
    load = asyncio.create_task(drive(work(), write, plan))
    sampler = asyncio.create_task(sample())
    labels: list[tuple[int, int, str]] = []
    run: MigrationRun | None = None
    try:
        ctx.progress.note(f"{store}: baseline {baseline_s:g} s at {rate:.0f} writes/s ({source})")
        await asyncio.sleep(WARMUP_S)  # the pool opens its connections: not part of the baseline
        baseline_start = time.perf_counter_ns()
        await asyncio.sleep(baseline_s)
        baseline_end = time.perf_counter_ns()
        run = MigrationRun(store, rate, source, fill_rows, lock_timeout_ms, retries, reader_s)
        ctx.results.put(run)
        applied = []
        for m in chosen:
            impact = await _one(ctx, tool, m, "up", run, retry_wait_ms, settle_s, labels)
            run.steps.append(impact)
            if impact.ok:
                applied.append(m)
            else:
                break  # later migrations build on this one
        for m in reversed(applied):
            run.steps.append(await _one(ctx, tool, m, "down", run, retry_wait_ms, settle_s, labels))
        run.schema_diff = _diff(schema_before, await tool.schema())
        run.schema_restored = not run.schema_diff
    finally:
        stop.set()
        await asyncio.gather(load, sampler, return_exceptions=True)
        ts.listeners.remove(rec)
        await tool.close()
    if run is not None:
        run.baseline = Window.of(in_window(rec.ops, baseline_start, baseline_end))
        for impact in run.steps:
            impact.measure(rec, run.baseline)
        path = ctx.results_dir / "migration_timeline.csv"
        ctx.results_dir.mkdir(parents=True, exist_ok=True)
        rows = timeline_rows(rec, start_ns, time.perf_counter_ns(), labels)
        with path.open("w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        run.timeline_csv = path.name


async def _one(ctx: RunContext, tool: mig.MigrationKit, m: mig.Migration, direction: mig.Direction,
               run: MigrationRun, retry_wait_ms: int, settle_s: float,
               labels: list[tuple[int, int, str]]) -> MigrationImpact:
    table = m.table
    storage_before = await tool.storage_id(table) if table else None
    reader: asyncio.Task | None = None
    if run.reader_s and direction == "up" and table:
        holding = asyncio.Event()
        reader = asyncio.create_task(tool.hold_reader(table, run.reader_s, holding))
        async with asyncio.timeout(10):
            await holding.wait()
    ctx.progress.note(f"{m} {direction}" + (f" (a reader holds {table} for {run.reader_s:g} s)" if reader else ""))
    t0 = time.perf_counter_ns()
    attempts, error, ok = 0, None, False
    while True:
        attempts += 1
        try:
            await tool.apply(m, direction, run.lock_timeout_ms or None)
            ok = True
            break
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"[:200]
            if not (tool.lock_timed_out(exc) and attempts <= run.retries):
                break
            await asyncio.sleep(retry_wait_ms / 1000)
    t1 = time.perf_counter_ns()
    labels.append((t0, t1, f"{m} {direction}"))
    await asyncio.sleep(settle_s)  # operations queued behind the change answer late: keep them in the window
    end = t1 + int(settle_s * 1e9)
    if reader is not None:
        await asyncio.gather(reader, return_exceptions=True)
    storage_after = await tool.storage_id(table) if table else None
    rewritten = None if storage_before is None or storage_after is None else storage_before != storage_after
    return MigrationImpact(str(m), m.summary, direction, ok, attempts, (t1 - t0) / 1e9, rewritten, t0, end,
                           None if ok else error)


def _validate(params: dict[str, Any], run: RunParams) -> None:
    orders_only("migrate_under_load", run, "the migration files change the orders model's design")


STEPS = {"migrate_under_load": StepSpec(migrate_under_load, _validate)}
