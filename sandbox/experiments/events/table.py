"""The events tables on the terminal: the same cells as report.html's section (section.py)."""

from __future__ import annotations

from sandbox.experiments.events.result import EventsRun
from sandbox.experiments.events.section import tables
from sandbox.report.console import console, rich_table


def print_events(run: EventsRun) -> None:
    for t in tables({"events": run.to_json()}):
        console.print(rich_table(t))
