"""Consistency under faults: every operation's history, a fault schedule (outage, faults), the visibility lag,
and a check of every root instance against what its client was told (scenarios `outage`, `visibility`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sandbox.experiments.base import Experiment
from sandbox.experiments.faults import section, steps
from sandbox.experiments.faults.state import FaultRun
from sandbox.experiments.faults.table import print_faults
from sandbox.report.page import Draw
from sandbox.scenario.context import RunContext


class Faults(Experiment[FaultRun]):
    name = "faults"
    result = FaultRun
    steps = steps.STEPS
    template, folder = "section.html.j2", Path(__file__).parent

    def summary(self, result: FaultRun | None) -> dict[str, Any]:
        return {} if result is None else result.to_json()  # history, faults, check, visibility at the top

    def findings(self, result: FaultRun) -> list[str]:
        out = [f"check {c.label}: {name}" for c in result.checks for name, s in c.stores.items() if s.has_findings]
        recovery = result.recovery.to_json() if result.recovery is not None else {}
        return out + [f"{name} took no write in {r['writes_after_restart']} tried after its restart"
                      for name, r in recovery.items()
                      if r.get("faulted") and r.get("writes_after_restart") and r.get("first_ack_after_s") is None]

    def show(self, ctx: RunContext, result: FaultRun) -> list[str]:
        print_faults(result)
        return []

    def section(self, summary: dict[str, Any], draw: Draw | None) -> dict[str, Any] | None:
        tables = section.faults(summary)
        return {"tables": tables} if tables else None

    def states(self, summary: dict[str, Any]) -> list[tuple[str, str]]:
        return section.states(summary)

    def matrix(self, summary: dict[str, Any], run_id: str) -> list[tuple[str, str, str]]:
        return section.matrix(summary, run_id)

    def injected_faults(self, summary: dict[str, Any]) -> bool:
        return bool(summary.get("faults"))


EXPERIMENT = Faults()
