"""Which anomalies each store's transactions allow (issue 27): the `isolation` step runs list-append or register
transactions per store and level on a hot key space, checks each history (measure/isolation, docs/isolation.md)
and exports it as EDN; the table store x level -> anomalies (with an example cycle), aborts, ok/s."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sandbox.experiments.base import Experiment
from sandbox.experiments.isolation import section, steps
from sandbox.experiments.isolation.result import IsolationRuns
from sandbox.experiments.isolation.table import print_isolation
from sandbox.report.page import Draw
from sandbox.scenario.context import RunContext


class Isolation(Experiment[IsolationRuns]):
    name = "isolation"
    result = IsolationRuns
    steps = steps.STEPS
    template, folder = "section.html.j2", Path(__file__).parent

    def show(self, ctx: RunContext, result: IsolationRuns) -> list[str]:
        print_isolation(result)
        return []

    def findings(self, result: IsolationRuns) -> list[str]:
        return [f"isolation: {r['store']} at {r['level']} promises {r['promise']} but showed "
                f"{', '.join(r['broken'])}: {next(iter(r['examples'].values()), '')}"
                for r in result.rows if r["broken"]]

    def section(self, summary: dict[str, Any], draw: Draw | None) -> dict[str, Any] | None:
        t = section.table(summary)
        return {"isolation": t} if t is not None else None

    def states(self, summary: dict[str, Any]) -> list[tuple[str, str]]:
        return [(r["store"], f"isolation {r['level']}: {', '.join(r['broken'])} despite its promise")
                for r in (summary.get("isolation") or {}).get("rows", []) if r["broken"]]

    def matrix(self, summary: dict[str, Any], run_id: str) -> list[tuple[str, str, str]]:
        return section.matrix(summary, run_id)


EXPERIMENT = Isolation()
