"""Write strategies side by side (dual write, outbox, event sourcing, saga): the same orders, the same store
killed mid-run; write latency against divergence, convergence, duplicates, lost orders (scenario `strategies`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sandbox.experiments.base import Experiment
from sandbox.experiments.strategies import section, steps
from sandbox.experiments.strategies.result import StrategyRuns
from sandbox.experiments.strategies.table import print_strategies
from sandbox.report.page import Draw
from sandbox.scenario.context import RunContext


class Strategies(Experiment[StrategyRuns]):
    name = "strategies"
    result = StrategyRuns
    steps = steps.STEPS
    template, folder = "section.html.j2", Path(__file__).parent

    def findings(self, result: StrategyRuns) -> list[str]:
        return [f"{o.strategy}: {o.finding}" for o in result.outcomes if o.finding]

    def show(self, ctx: RunContext, result: StrategyRuns) -> list[str]:
        if result.outcomes:
            print_strategies(result.outcomes)
        return []

    def section(self, summary: dict[str, Any], draw: Draw | None) -> dict[str, Any] | None:
        table = section.strategies(summary)
        return None if table is None else {"strategies": table}


EXPERIMENT = Strategies()
