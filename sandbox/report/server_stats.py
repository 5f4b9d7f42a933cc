"""What the servers themselves counted during a run (or right now, for `sandbox stats`)."""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from rich.table import Table

from sandbox.measure.server_snapshots import cross_check
from sandbox.report.console import console
from sandbox.report.results import client_writes
from sandbox.report.server_sections import headline_lines, value
from sandbox.scenario.context import RunContext


def headline_table(title: str, stores: dict[str, dict[str, Any]]) -> Table:
    table = Table(title=title)
    for col in ("store", "source", "headline", "not available"):
        table.add_column(col)
    for name, diff in stores.items():
        head = "\n".join(headline_lines(diff)) or "-"
        missing = "\n".join(escape(u) for u in diff.get("unavailable", [])) or "-"
        table.add_row(name, escape(diff.get("source", "-")), escape(head), missing)
    return table


def print_server_stats(ctx: RunContext) -> None:
    run = ctx.server_stats
    if not run.last:
        return
    total = run.total()
    console.print(headline_table("server statistics: change over the run, as each server counts it (a restart "
                                 "splits it into spans)", total))
    checks = cross_check(total, client_writes(ctx))  # only where the run wrote through its clients
    table = Table(title="cross-check: orders written per the client vs writes counted by the server")
    for col in ("store", "client orders", "server count", "difference", "server counter (what it counts)"):
        table.add_column(col, justify="right" if col in ("client orders", "server count", "difference") else "left")
    for name, c in checks.items():
        table.add_row(name, value(c["client_orders_written"]), value(c["server_writes_seen"]),
                      "- (restarted)" if c["restarted"] else value(c["difference"]),
                      escape(f"{c['server_counter']} ({c['what_it_counts']})"))
    if checks:
        console.print(table)
    for name, diff in total.items():
        if diff.get("top_statements"):
            print_statements(f"{name}: top statements by total time over the run (pg_stat_statements)",
                             diff["top_statements"])


def print_statements(title: str, statements: list[dict[str, Any]]) -> None:
    table = Table(title=title)
    for col in ("calls", "total ms", "mean ms", "rows", "query"):
        table.add_column(col, justify="left" if col == "query" else "right")
    for s in statements:
        table.add_row(str(s["calls"]), f"{s['total_ms']:.1f}", f"{s['total_ms'] / max(1, s['calls']):.3f}",
                      str(s["rows"]), escape(s["query"][:120]))
    console.print(table)
