"""The isolate step's table: which store sat behind which veth pair, and whether latency could be injected."""

from __future__ import annotations

from rich.markup import escape
from rich.table import Table

from sandbox.experiments.network.result import Isolation
from sandbox.report.console import console


def print_isolation(result: Isolation) -> None:
    if not result.stores:
        return
    table = Table(title="network: stores reached through a network namespace and veth pair (partition = link cut)")
    for col in ("store", "clients connect to", "host end", "namespace end"):
        table.add_column(col)
    for name, s in result.stores.items():
        table.add_row(name, s["address"], s["host_end"], s["namespace_end"])
    console.print(table)
    console.print(f"latency injection: {escape(result.latency_injection)}", highlight=False)
