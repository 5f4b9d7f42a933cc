"""Durability: each server killed (kill -9) inside its loss window while taking writes, restarted on its data,
repeated per durability profile; acknowledged-but-lost per store and setting (scenarios `durability`,
`durability-busy-disk`). Its checks go to the faults experiment's (exit 3 on a loss)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sandbox.experiments.base import Experiment
from sandbox.experiments.durability import groups, steps
from sandbox.experiments.durability.rows import DurabilityRun
from sandbox.experiments.durability.table import print_durability
from sandbox.report.page import Draw
from sandbox.scenario.context import RunContext


class Durability(Experiment[DurabilityRun]):
    name = "durability"
    result = DurabilityRun
    steps = steps.STEPS
    template, folder = "section.html.j2", Path(__file__).parent

    def summary(self, result: DurabilityRun | None) -> dict[str, Any]:
        return {} if result is None or not result.rows else {"durability": result.to_json()}

    def show(self, ctx: RunContext, result: DurabilityRun) -> list[str]:
        print_durability(result)
        return []

    def section(self, summary: dict[str, Any], draw: Draw | None) -> dict[str, Any] | None:
        return {"durability": groups.table(summary["durability"])} if summary.get("durability") else None

    def states(self, summary: dict[str, Any]) -> list[tuple[str, str]]:
        return [(row["store"], f"{row['profile']}: lost acknowledged writes")
                for row in (summary.get("durability") or {}).get("rows", []) if row["lost"]]

    def matrix(self, summary: dict[str, Any], run_id: str) -> list[tuple[str, str, str]]:
        return [(row["store"], "durability", f"{row['profile']} ({row['setting']}): lost {row['lost']} of "
                 f"{row['acknowledged']} acknowledged after kill -9 (run {run_id})")
                for row in (summary.get("durability") or {}).get("rows", [])]


EXPERIMENT = Durability()
