"""The core experiment on the terminal: every store's read-back against what was sent (section.py's table)."""

from __future__ import annotations

from sandbox.experiments.orders.result import ReadBack
from sandbox.experiments.orders.section import consistency, examples
from sandbox.report.console import console, rich_table
from sandbox.report.results import model_summary
from sandbox.scenario.context import RunContext


def print_read_back(ctx: RunContext, result: ReadBack) -> None:
    if not result.comparisons:
        return
    summary = {"model": model_summary(ctx.model),
               "stores": {name: {"consistency": result.comparisons[name].to_json(), "money": ts.store.money}
                          for name, ts in ctx.stores.items() if name in result.comparisons}}
    table = consistency(summary)
    if table is not None:
        console.print(rich_table(table))
    for name, c in result.comparisons.items():
        for line in examples(name, c.to_json()):
            console.print(f"  {line}", highlight=False)
