"""The durability trials on the terminal: per profile and store over its trials, then what each was run with."""

from __future__ import annotations

from typing import Any

from rich import box
from rich.markup import escape
from rich.table import Table

from sandbox.experiments.durability import groups as durability
from sandbox.experiments.durability.rows import DurabilityRun
from sandbox.measure.checker import FINDINGS, Verdict
from sandbox.report.console import console


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}" if value < 100 else f"{value:.0f}"


def _cell(verdict: Verdict, n: int) -> str:
    return f"[red]{n}[/]" if n and verdict in FINDINGS else str(n)


def durability_table(groups: list[durability.DurabilityGroup]) -> Table:
    """Per profile and store over its trials; the settings, unknowns and latency follow in lines below."""
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, title=durability.TITLE)
    for col in ("profile", "store", "lost min/med/max", "lost per trial (loss window)", "acked per trial",
                "writes/s at kill",
                "server at the kill (worst trial)"):
        table.add_column(col, justify="right" if col in ("lost min/med/max", "writes/s at kill") else "left",
                         overflow="fold")
    previous = None
    for g in groups:
        table.add_row(escape(g.profile) if g.profile != previous else "", g.store,
                      "/".join(_cell(Verdict.LOST, n) for n in g.lost_range),
                      g.lost_per_trial, ", ".join(map(str, g.acknowledged)),
                      "-" if g.rate_at_kill is None else f"{g.rate_at_kill:,.0f}",
                      escape(g.server_state) + (f" [red]{escape(g.errors)}[/]" if g.errors else ""))
        previous = g.profile
    return table


def durability_lines(groups: list[durability.DurabilityGroup], rows: list[dict[str, Any]]) -> list[str]:
    """What each row was run with, and what else it saw (summary.json has every trial)."""
    lines = [f"  {escape(g.profile)} / {g.store}: {escape(g.setting)}; unknown outcome {g.unknown}, divergent "
             f"{_cell(Verdict.DIVERGENT, g.divergent)}, write p99 {_ms(g.write_p99_ms)} ms (worst trial)"
             + (f"; killed inside the window it showed in {g.window_seen} of {len(g.lost)} trials"
                if g.window_seen else "")
             for g in groups]
    return lines + [f"  {escape(line)}" for line in durability.disk_lines(rows)]


def print_durability(result: DurabilityRun) -> None:
    rows = [r.to_json() for r in result.rows]
    if not rows:
        return
    groups = durability.groups(rows)
    console.print(durability_table(groups))
    for line in durability_lines(groups, rows):
        console.print(line)
    console.print(f"  failure simulated: {result.failure_simulated}")
