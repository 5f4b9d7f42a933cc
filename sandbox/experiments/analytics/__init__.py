"""Analytics: five reporting questions asked of every store in its own query language, each answer checked
against the reference store's (the role `reference`), cold and warm (scenario `analytics`, docs/reads.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sandbox.experiments.analytics import section, steps
from sandbox.experiments.analytics.run import AnalyticsRun
from sandbox.experiments.analytics.table import print_analytics
from sandbox.experiments.base import Experiment
from sandbox.report.page import Draw
from sandbox.scenario.context import RunContext


class Analytics(Experiment[AnalyticsRun]):
    name = "analytics"
    result = AnalyticsRun
    steps = steps.STEPS
    template, folder = "section.html.j2", Path(__file__).parent

    def findings(self, result: AnalyticsRun) -> list[str]:
        return [f"{c.store} {c.query.value}: {c.kind}" for c in result.findings]

    def show(self, ctx: RunContext, result: AnalyticsRun) -> list[str]:
        print_analytics(ctx, result)
        return []

    def section(self, summary: dict[str, Any], draw: Draw | None) -> dict[str, Any] | None:
        table = section.analytics(summary)
        return None if table is None else {"analytics": table}


EXPERIMENT = Analytics()
