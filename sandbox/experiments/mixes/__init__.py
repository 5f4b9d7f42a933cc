"""Workload mixes: YCSB's core mixes and a shop over a preloaded data set, every update checked for lost updates;
capacity at a latency target; sweeps over concurrency and data-set size (docs/workloads.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sandbox.experiments.base import Experiment
from sandbox.experiments.mixes import steps, sweeps
from sandbox.experiments.mixes.state import MixRun
from sandbox.experiments.mixes.table import print_mix
from sandbox.report.page import Draw
from sandbox.scenario.context import RunContext

STEPS = {**steps.STEPS, **sweeps.STEPS}


class Mixes(Experiment[MixRun]):
    name = "mixes"
    result = MixRun
    steps = STEPS
    template, folder = "section.html.j2", Path(__file__).parent

    def summary(self, result: MixRun | None) -> dict[str, Any]:
        return {"mix": None if result is None else result.to_json()}

    def findings(self, result: MixRun) -> list[str]:  # a lost update, an impossible state, wrong stock
        return [f"{name}: update check findings" for name, c in result.checks.items() if c.has_findings]

    def show(self, ctx: RunContext, result: MixRun) -> list[str]:
        print_mix(ctx, result)
        return []

    def section(self, summary: dict[str, Any], draw: Draw | None) -> dict[str, Any] | None:
        capacity = (summary.get("mix") or {}).get("capacity")
        if not capacity or draw is None:
            return None
        from sandbox.report import plots  # matplotlib: only when a page is drawn

        fig = plots.capacity_figure(capacity, plots.color_of(list(summary.get("stores", {}))))
        return {"capacity": draw.figure(fig, "plot-capacity.png", "each step of the capacity search: rate started "
                                        "against the target percentile; o held, x did not (docs/workloads.md)")}


EXPERIMENT = Mixes()
