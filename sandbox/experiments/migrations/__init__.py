"""Schema changes under load: each migration of a store's migrations/ folder applied and rolled back under
open-loop writes (scenario `migration`, docs/migrations.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sandbox.experiments.base import Experiment
from sandbox.experiments.migrations import section, steps
from sandbox.experiments.migrations.results import MigrationRun
from sandbox.experiments.migrations.table import print_migrations
from sandbox.report.page import Draw
from sandbox.scenario.context import RunContext


class Migrations(Experiment[MigrationRun]):
    name = "migrations"
    result = MigrationRun
    steps = steps.STEPS
    template, folder = "section.html.j2", Path(__file__).parent

    def summary(self, result: MigrationRun | None) -> dict[str, Any]:
        return {"migration": None if result is None else result.to_json()}

    def findings(self, result: MigrationRun) -> list[str]:
        return [f"{result.store}: the schema after the rollbacks differs from the original"] if result.finding else []

    def show(self, ctx: RunContext, result: MigrationRun) -> list[str]:
        print_migrations(result)
        return []

    def section(self, summary: dict[str, Any], draw: Draw | None) -> dict[str, Any] | None:
        table = section.migration(summary)
        return None if table is None else {"migration": table}


EXPERIMENT = Migrations()
