"""Network faults for real: a store behind a network namespace and veth pair (the `isolate` step), its link
cut and healed by the `partition` / `heal` fault actions (scenario `partition`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sandbox.experiments.base import Experiment
from sandbox.experiments.network import section, steps
from sandbox.experiments.network.result import Isolation
from sandbox.experiments.network.table import print_isolation
from sandbox.report.page import Draw
from sandbox.scenario.context import RunContext


class Network(Experiment[Isolation]):
    name = "network"
    result = Isolation
    steps = steps.STEPS
    template, folder = "section.html.j2", Path(__file__).parent

    def show(self, ctx: RunContext, result: Isolation) -> list[str]:
        print_isolation(result)
        return []

    def section(self, summary: dict[str, Any], draw: Draw | None) -> dict[str, Any] | None:
        table = section.isolation(summary)
        return {"network": table} if table is not None else None

    def injected_faults(self, summary: dict[str, Any]) -> bool:
        return bool((summary.get("network") or {}).get("stores"))


EXPERIMENT = Network()
