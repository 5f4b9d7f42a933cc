"""Terminal output with rich."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from sandbox.measure.calibrate import Calibration
    from sandbox.stack.status import StoreStatus

# Logs and CI output are read on wide screens: do not wrap tables at 80 columns there.
console = Console(highlight=False, width=None if sys.stdout.isatty() else 160)


def print_status(backend: str, rows: list[StoreStatus], pids: dict[str, int | None]) -> None:
    table = Table(title=f"stores ({backend} backend)")
    for col in ("store", "url", "server (as reported)", "reachable", "pid"):
        table.add_column(col)
    for r in rows:
        table.add_row(r.store, r.url, r.server, "[green]yes[/]" if r.reachable else "[red]no[/]",
                      str(pids.get(r.store) or ""))
    console.print(table)


def print_calibration(results: list[Calibration]) -> None:
    table = Table(title="harness overhead against the no-op store (response, service and processing time recorded)")
    for col in ("path", "operations", "ops/s", "us/op (wall)", "us/op (cpu)", "client cpu"):
        table.add_column(col, justify="left" if col == "path" else "right")
    for r in results:
        table.add_row(r.label, f"{r.ops:,}", f"{r.ops_per_s:,.0f}", f"{r.us_per_op:.2f}", f"{r.us_per_op * r.cpu:.2f}",
                      f"{r.cpu:.0%}")
    console.print(table)
    console.print("A store result is mostly harness when its service time is within a few times these us/op. "
                  "cpu us/op is the harness's own cost; wall us/op also counts time the machine gave to others.")
