"""The footprint tables on the terminal (the same cells as report.html: rows.py)."""

from __future__ import annotations

from rich.markup import escape
from rich.table import Table

from sandbox.experiments.footprint import rows
from sandbox.experiments.footprint.result import FootprintResult
from sandbox.report.console import console
from sandbox.report.table_data import TableData


def _print(data: TableData) -> None:
    table = Table(title=data.title)
    for col in data.headers:
        table.add_column(col, justify="left" if col in ("store", "server") else "right")
    for row in data.rows:
        table.add_row(*(escape(c.text) for c in row))
    console.print(table)
    for note in data.notes:
        console.print(escape(note), highlight=False)


def print_footprint(result: FootprintResult) -> None:
    section = result.to_json()
    if section["stores"] or section["not_measured"]:
        _print(rows.readings(section))
        _print(rows.fits(section))
    for table in (rows.projection(section), rows.index_cost(section)):
        if table is not None:
            _print(table)
