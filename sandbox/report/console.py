"""Terminal output with rich."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from sandbox.report.table_data import TableData

if TYPE_CHECKING:
    from sandbox.measure.calibrate import Calibration
    from sandbox.stack.status import StoreStatus

WIDTH = 100  # every table fits a 100-column terminal; COLUMNS, when set, wins (see sandbox run --wide)


def console_width(environ: dict[str, str]) -> int | None:
    """COLUMNS when set; otherwise the terminal's own width, or WIDTH when output goes to a file or pipe."""
    columns = environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    return None if sys.stdout.isatty() else WIDTH


console = Console(highlight=False, width=console_width(dict(os.environ)))


def print_status(backend: str, rows: list[StoreStatus], pids: dict[str, int | None]) -> None:
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, title=f"stores ({backend} backend)")
    for col in ("store", "url", "server (as reported)", "reachable", "pid"):
        table.add_column(col)
    for r in rows:
        table.add_row(r.store, r.url, r.server, "[green]yes[/]" if r.reachable else "[red]no[/]",
                      str(pids.get(r.store) or ""))
    console.print(table)


def print_calibration(results: list[Calibration]) -> None:
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False,
                  title="harness overhead against the no-op store (response, service and processing time recorded)")
    for col in ("path", "operations", "ops/s", "us/op (wall)", "us/op (cpu)", "client cpu"):
        table.add_column(col, justify="left" if col == "path" else "right")
    for r in results:
        table.add_row(r.label, f"{r.ops:,}", f"{r.ops_per_s:,.0f}", f"{r.us_per_op:.2f}", f"{r.us_per_op * r.cpu:.2f}",
                      f"{r.cpu:.0%}")
    console.print(table)
    console.print("A store result is mostly harness when its service time is within a few times these us/op. "
                  "cpu us/op is the harness's own cost; wall us/op also counts time the machine gave to others.")


def rich_table(t: TableData) -> Table:
    """A table built for the HTML report (sections.py), for the terminal; findings in red."""
    table = Table(title=t.title, box=box.SIMPLE_HEAD, pad_edge=False, caption=" ".join(t.notes) or None)
    for i, header in enumerate(t.headers):
        # A narrow terminal wraps a cell rather than cutting it short; the last column (a verdict) stays whole.
        last = i == len(t.headers) - 1
        table.add_column(header, overflow="fold", no_wrap=last, min_width=len(header) if not last else None)
    for row in t.rows:
        table.add_row(*(f"[red]{escape(c.text)}[/]" if c.bad else escape(c.text) for c in row))
    return table
