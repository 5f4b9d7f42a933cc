"""Read replicas: writes to the primary, reads from a replica; lag, stale read-your-writes per guarantee, and
replicas paused, killed or promoted (scenario `replicas`, docs/replicas.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sandbox.experiments.base import Experiment
from sandbox.experiments.replicas import section, steps
from sandbox.experiments.replicas.results import ReplicaResults
from sandbox.experiments.replicas.table import print_replicas
from sandbox.report.page import Draw
from sandbox.scenario.context import RunContext


class Replicas(Experiment[ReplicaResults]):
    name = "replicas"
    result = ReplicaResults
    steps = steps.STEPS
    template, folder = "section.html.j2", Path(__file__).parent

    def show(self, ctx: RunContext, result: ReplicaResults) -> list[str]:
        print_replicas(result)
        return []

    def section(self, summary: dict[str, Any], draw: Draw | None) -> dict[str, Any] | None:
        tables = section.replicas(summary)
        return {"tables": tables} if tables else None


EXPERIMENT = Replicas()
