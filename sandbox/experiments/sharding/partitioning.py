"""The `partitioning` step: the run's root instances written through the model store of the store playing the
`hash_partitioning` role, in its hash-partitioned design (PostgreSQL: `postgres:partitioned`, the normalized
design with the root table `PARTITION BY HASH` of its first reference, customer_id for orders;
stores/postgres/partitioned.py).

It writes the run's instances (batches, as a run does) into N hash partitions and reports rows per partition,
checks that every partition-key value's instances share one partition, and times a query by the partition key
(pruned to one partition) against a lookup by the root's key and a filter by a find pattern's field (status for
orders) (all partitions), with EXPLAIN ANALYZE's partition count beside each. Any model (`--model`).
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

from sandbox.errors import UsageError
from sandbox.experiments.sharding.result import ShardingRuns
from sandbox.scenario.context import RunContext
from sandbox.scenario.spec import RunParams
from sandbox.scenario.step import StepSpec, role_part, whole_number, with_defaults
from sandbox.stores import make_model_store

BATCH = 1000


async def _timed(queries: int, one: Callable[[], Awaitable[int]]) -> dict[str, float]:
    took = []
    for _ in range(queries):
        start = time.perf_counter()
        await one()
        took.append((time.perf_counter() - start) * 1000)
    cuts = statistics.quantiles(took, n=100, method="inclusive")
    return {"p50_ms": statistics.median(took), "p99_ms": cuts[98], "max_ms": max(took)}


async def partitioning(ctx: RunContext, store: str, partitions: int = 8, queries: int = 200) -> None:
    """Hash partitions by the root's first reference: rows per partition, a query by the partition key against
    one by the root's key and one by a filter field."""
    _check(partitions, queries)
    role = role_part(ctx, "partitioning", "store", "hash_partitioning", store)
    model, root = ctx.model, ctx.model.root_entity
    node = make_model_store(ctx.settings, store, f"sbx_{ctx.run_id}_part", model, 4, **role.options(partitions))
    try:
        version = await node.connect()
    except Exception as exc:
        await node.close()
        raise UsageError(f"{store} is not reachable ({type(exc).__name__}); start it with `sandbox up`") from None
    try:
        await node.prepare(ctx.dataset)
        instances = list(ctx.dataset.roots(0, ctx.params.orders))
        for i in range(0, len(instances), BATCH):
            await node.write_batch(instances[i:i + BATCH])
        probe = role(node)
        await probe.analyze()
        rng = random.Random(ctx.params.seed)
        result: dict[str, Any] = {
            "server": f"{version.product} {version.version}", "design": node.describe().splitlines()[0],
            "partitions": partitions, "partition_by": probe.partition_by, "orders": len(instances),
            "rows_per_partition": await probe.rows_per_partition(),
            "customers_in_several_partitions": await probe.spread(), "queries": {}}
        # The partition key, a point lookup without it, and a filter without it.
        find = next((p.where[0] for p in model.patterns.values()
                     if p.kind == "find" and p.entity == root.name and p.where), None)
        for column in dict.fromkeys(c for c in (probe.partition_by, root.key, find) if c is not None):
            def one(column: str = column) -> Awaitable[int]:
                return probe.query(column, rng.choice(instances)[column])

            plan = await probe.explain(column, rng.choice(instances)[column])
            result["queries"][column] = {"plan": vars(plan), **await _timed(queries, one)}
    finally:
        try:
            await node.teardown()
        finally:
            await node.close()
    ctx.results.ensure(ShardingRuns).by_step["partitioning"] = result


def _check(partitions: Any, queries: Any) -> None:
    whole_number("partitioning", "partitions", partitions, 1, 1024)
    whole_number("partitioning", "queries", queries, 2, 100_000)


def _validate(params: dict[str, Any], run: RunParams) -> None:
    _check(**with_defaults(partitioning, params, leave_out=("store",)))


STEPS = {"partitioning": StepSpec(partitioning, _validate, roles={"store": "hash_partitioning"})}
