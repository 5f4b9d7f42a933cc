"""Footprint and cost: each store's bytes for the run's data from its server's own figures, at up to three sizes,
fitted as fixed + per-entity bytes, with the log bytes per write (scenario `footprint`, docs/footprint.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sandbox.experiments.base import Experiment
from sandbox.experiments.footprint import section, steps
from sandbox.experiments.footprint.result import FootprintResult
from sandbox.experiments.footprint.table import print_footprint
from sandbox.report.page import Draw
from sandbox.scenario.context import RunContext


class FootprintExperiment(Experiment[FootprintResult]):
    name = "footprint"
    result = FootprintResult
    steps = steps.STEPS
    template, folder = "section.html.j2", Path(__file__).parent

    def show(self, ctx: RunContext, result: FootprintResult) -> list[str]:
        print_footprint(result)
        return []

    def section(self, summary: dict[str, Any], draw: Draw | None) -> dict[str, Any] | None:
        return section.values(summary, draw)

    def matrix(self, summary: dict[str, Any], run_id: str) -> list[tuple[str, str, str]]:
        return section.matrix(summary, run_id)


EXPERIMENT = FootprintExperiment()
