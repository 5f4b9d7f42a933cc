"""The `partitioning` step: the orders in a table hash-partitioned by customer_id, in the store playing the
`hash_partitioning` role (PostgreSQL: stores/postgres/partitioned.py).

It loads the run's orders into N hash partitions and reports rows per partition, checks that every
customer's orders share one partition, and times a query by the shard key (pruned to one partition)
against a lookup by order id and a filter by status (all partitions), with EXPLAIN ANALYZE's
partition count beside each.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

from sandbox.config import endpoint
from sandbox.errors import UsageError
from sandbox.experiments.sharding.result import ShardingRuns
from sandbox.scenario.context import RunContext
from sandbox.scenario.spec import RunParams
from sandbox.scenario.step import StepSpec, role_part, whole_number, with_defaults


async def _timed(queries: int, one: Callable[[], Awaitable[int]]) -> dict[str, float]:
    took = []
    for _ in range(queries):
        start = time.perf_counter()
        await one()
        took.append((time.perf_counter() - start) * 1000)
    cuts = statistics.quantiles(took, n=100, method="inclusive")
    return {"p50_ms": statistics.median(took), "p99_ms": cuts[98], "max_ms": max(took)}


async def partitioning(ctx: RunContext, store: str, partitions: int = 8, queries: int = 200) -> None:
    """Hash partitions by customer_id: rows per partition, a query by shard key against one by status."""
    _check(partitions, queries)
    partitioned = role_part(ctx, "partitioning", "store", "hash_partitioning", store)
    model = partitioned(endpoint(ctx.settings, store).url, f"sbx_{ctx.run_id}", partitions)
    try:
        version = await model.connect()
    except Exception as exc:
        raise UsageError(f"postgres is not reachable ({type(exc).__name__}); start it with `sandbox up`") from None
    try:
        await model.create()
        orders = list(ctx.workload.orders(0, ctx.params.orders))
        await model.load(orders)
        rng = random.Random(ctx.params.seed)
        result: dict[str, Any] = {
            "server": f"PostgreSQL {version}", "partitions": partitions, "orders": len(orders),
            "rows_per_partition": await model.rows_per_partition(),
            "customers_in_several_partitions": await model.customers_in_several_partitions(), "queries": {}}
        # The shard key, a point lookup without it, and a filter without it.
        for column in ("customer_id", "id", "status"):
            def one(column: str = column) -> Awaitable[int]:
                order = rng.choice(orders)
                return model.query(column, order.status.value if column == "status" else getattr(order, column))

            first = rng.choice(orders)
            plan = await model.explain(column, first.status.value if column == "status" else getattr(first, column))
            result["queries"][column] = {"plan": vars(plan), **await _timed(queries, one)}
    finally:
        await model.drop()
        await model.close()
    ctx.results.ensure(ShardingRuns).by_step["partitioning"] = result


def _check(partitions: Any, queries: Any) -> None:
    whole_number("partitioning", "partitions", partitions, 1, 1024)
    whole_number("partitioning", "queries", queries, 2, 100_000)


def _validate(params: dict[str, Any], run: RunParams) -> None:
    _check(**with_defaults(partitioning, params, leave_out=("store",)))


STEPS = {"partitioning": StepSpec(partitioning, _validate, roles={"store": "hash_partitioning"})}
