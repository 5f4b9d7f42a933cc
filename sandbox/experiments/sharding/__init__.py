"""Sharding: placement schemes side by side with no server (`sharding`), a Redis Cluster resharded under load
(`reshard`), hash partitions (`partitioning`) and shard routing (`es-routing`) (docs/sharding.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sandbox.experiments.base import Experiment
from sandbox.experiments.sharding import (
    partitioning,
    partitioning_table,
    reshard,
    reshard_table,
    routing,
    routing_table,
    sharding,
    sharding_table,
)
from sandbox.experiments.sharding.result import ShardingRuns
from sandbox.report.page import Draw
from sandbox.scenario.context import RunContext

STEPS = {**sharding.STEPS, **reshard.STEPS, **partitioning.STEPS, **routing.STEPS}


class Sharding(Experiment[ShardingRuns]):
    name = "sharding"
    result = ShardingRuns
    steps = STEPS
    template, folder = "section.html.j2", Path(__file__).parent

    def summary(self, result: ShardingRuns | None) -> dict[str, Any]:
        return {"experiments": result.to_json() if result is not None and result.by_step else None}

    def show(self, ctx: RunContext, result: ShardingRuns) -> list[str]:
        runs = result.by_step  # each prints its part and returns its findings (exit 3)
        return [*sharding_table.print_sharding(runs, ctx.results_dir), *reshard_table.print_reshard(runs),
                *partitioning_table.print_partitioning(runs), *routing_table.print_routing(runs)]

    def section(self, summary: dict[str, Any], draw: Draw | None) -> dict[str, Any] | None:
        moved = (summary.get("experiments") or {}).get("sharding")
        if not moved:
            return None
        figure = None if draw is None else draw.figure(
            sharding_table.moved_fraction_figure(moved), "plot-moved-fraction.png",
            "fraction of keys moved adding one shard, per scheme, against the ideal 1/(N+1)")
        return {"moved": figure, "movement": sharding_table.movement_data(moved)}


EXPERIMENT = Sharding()
