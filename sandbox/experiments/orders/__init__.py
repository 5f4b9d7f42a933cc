"""The core experiment: one order stream written to every store, read back and compared (scenario `orders`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sandbox.experiments.base import Experiment
from sandbox.experiments.orders import section, steps
from sandbox.experiments.orders.result import ReadBack
from sandbox.experiments.orders.table import print_read_back
from sandbox.report.page import Draw
from sandbox.scenario.context import RunContext


class Orders(Experiment[ReadBack]):
    name = "orders"
    result = ReadBack
    steps = steps.STEPS
    template, folder = "section.html.j2", Path(__file__).parent

    def summary(self, result: ReadBack | None) -> dict[str, Any]:
        return {"consistent": None if result is None else result.consistent}

    def store_summary(self, result: ReadBack | None, store: str) -> dict[str, Any]:
        compared = result.comparisons.get(store) if result is not None else None
        return {"read_not_found": result.read_misses.get(store) if result is not None else None,
                "consistency": compared.to_json() if compared is not None else None}

    def findings(self, result: ReadBack) -> list[str]:
        return [f"{name}: inconsistent read-back" for name, c in result.comparisons.items() if not c.consistent]

    def show(self, ctx: RunContext, result: ReadBack) -> list[str]:
        print_read_back(ctx, result)
        return []

    def section(self, summary: dict[str, Any], draw: Draw | None) -> dict[str, Any] | None:
        table = section.consistency(summary)
        return None if table is None else {"consistency": table}

    def states(self, summary: dict[str, Any]) -> list[tuple[str, str]]:
        return [(name, "consistent" if c.get("consistent") else "INCONSISTENT read-back")
                for name, store in summary.get("stores", {}).items() if (c := store.get("consistency")) is not None]


EXPERIMENT = Orders()
