"""The index-cost step: for each index an access pattern relies on (contract.IndexCost), its size, and the
pattern's latency with it and then without it in the same run (dropped, timed, rebuilt: the rebuild's time is
kept too); and the playbook's index-usage check, every index of the namespace that no query of the run scanned,
from the server's own count (read after the with-index timings, before anything is dropped).

Each pattern is sent the same `queries` parameter sets both times, one call at a time through the store's own
answerer (an unloaded latency, not a throughput), after two untimed calls that warm the caches both ways. A
condition stops early when its calls have taken `budget_s` (a full scan on a stand-in can take seconds a call);
the number of calls each percentile comes from is kept beside it."""

from __future__ import annotations

import statistics
import time
from typing import Any

from sandbox.errors import UsageError
from sandbox.experiments.footprint.result import FootprintResult
from sandbox.scenario.context import RunContext
from sandbox.scenario.spec import RunParams
from sandbox.scenario.step import StepSpec, whole_number, with_defaults
from sandbox.stores.contract import Footprint, IndexCost, NotAnswerable, Params
from sandbox.workload.pattern_stream import PatternStream
from sandbox.workload.schema import Mix

WARM = 2


async def _time(answerer: Any, params: list[Params], budget_s: float) -> dict[str, float]:
    for p in params[:WARM]:
        await answerer(p)
    took: list[float] = []
    for p in params:
        start = time.perf_counter()
        await answerer(p)
        took.append((time.perf_counter() - start) * 1000)
        if sum(took) >= budget_s * 1000:
            break
    cuts = statistics.quantiles(took, n=100, method="inclusive") if len(took) > 1 else [took[0]] * 99
    return {"p50": round(cuts[49], 3), "p99": round(cuts[98], 3), "queries": len(took)}


def _params(ctx: RunContext, pattern: str, held: int, n: int) -> list[Params]:
    stream = PatternStream(ctx.dataset, Mix(f"index-cost:{pattern}", ((pattern, 1.0),), 0), held,
                           ctx.params.seed or 0)
    return [stream.next().params for _ in range(n)]


async def measure_store(ctx: RunContext, store: Any, held: int, queries: int, budget_s: float) -> dict[str, Any]:
    sizes = (await store.footprint()).index_bytes if isinstance(store, Footprint) else None
    timed: dict[str, dict[str, Any]] = {}
    left: dict[str, str] = {}
    work: list[tuple[str, str, Any, list[Params]]] = []
    for index, patterns in store.pattern_indexes().items():
        for name in patterns:
            answerer = store.answer(ctx.model.patterns[name])
            if isinstance(answerer, NotAnswerable):
                left[f"{index} / {name}"] = answerer.reason
                continue
            work.append((index, name, answerer, _params(ctx, name, held, queries)))
    for index, name, answerer, params in work:  # every pattern with every index first: the usage check's run
        timed.setdefault(index, {})[name] = {"with_ms": await _time(answerer, params, budget_s)}
    use = await store.index_usage()
    rebuild: dict[str, float] = {}
    for index in timed:
        await store.drop_index(index)
        try:
            for name, answerer in ((n, a) for i, n, a, _ in work if i == index):
                params = next(p for i, n, _, p in work if i == index and n == name)
                timed[index][name]["without_ms"] = await _time(answerer, params, budget_s)
        finally:
            start = time.perf_counter()
            await store.restore_index(index)
            rebuild[index] = round(time.perf_counter() - start, 3)
    return {"usage_source": store.usage_source, "roots": held, "queries": queries, "budget_s": budget_s,
            "indexes": [{"index": u.name, "bytes": None if sizes is None else sizes.get(u.name),
                         "scans": u.scans, "enforces": u.enforces, "patterns": timed.get(u.name, {}),
                         "rebuild_s": rebuild.get(u.name)} for u in use],
            "unused": [u.name for u in use if u.scans == 0], "not_timed": left,
            "uncounted": [u.name for u in use if u.scans is None]}


async def index_cost(ctx: RunContext, queries: int = 100, budget_s: float = 5.0) -> None:
    """Time each pattern with and without the index it relies on; list the indexes no query scanned."""
    result = ctx.results.ensure(FootprintResult)
    for name, ts in ctx.stores.items():
        store: Any = ts.store
        if not isinstance(store, IndexCost):
            result.index_cost_missing[name] = "its model store cannot drop an index (no contract.IndexCost)"
            continue
        kept = result.stores.get(name)
        held = kept.readings[-1][0] if kept and kept.readings else ctx.written.get(name, 0)
        if held < 1:
            result.index_cost_missing[name] = "it holds no roots yet: run index_cost after footprint or a write"
            continue
        result.index_cost[name] = {"server": str(ctx.servers.get(name, "?")),
                                   **await measure_store(ctx, store, held, queries, budget_s)}


def _validate(params: dict[str, Any], run: RunParams) -> None:
    given = with_defaults(index_cost, params)
    whole_number("index_cost", "queries", given["queries"], 10, 100_000)
    budget = given["budget_s"]
    if isinstance(budget, bool) or not isinstance(budget, int | float) or not 0.1 <= budget <= 3600:
        raise UsageError(f"index_cost: budget_s must be a number of seconds from 0.1 to 3600, got {budget!r}")


STEPS = {"index_cost": StepSpec(index_cost, _validate)}
