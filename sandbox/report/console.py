"""Terminal output with rich."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from sandbox.stack.status import StoreStatus

# Logs and CI output are read on wide screens: do not wrap tables at 80 columns there.
console = Console(highlight=False, width=None if sys.stdout.isatty() else 160)


def print_status(backend: str, rows: list[StoreStatus], pids: dict[str, int]) -> None:
    table = Table(title=f"stores ({backend} backend)")
    for col in ("store", "url", "server (as reported)", "reachable", "pid"):
        table.add_column(col)
    for r in rows:
        table.add_row(r.store, r.url, r.server, "[green]yes[/]" if r.reachable else "[red]no[/]",
                      str(pids.get(r.store, "")))
    console.print(table)
