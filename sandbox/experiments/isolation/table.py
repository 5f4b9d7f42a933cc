"""The isolation table on the terminal: store x level -> anomalies found (an example cycle each), aborts, ops/s."""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from rich.table import Table

from sandbox.experiments.isolation.result import IsolationRuns
from sandbox.report.console import console


def anomalies_text(row: dict[str, Any]) -> str:
    found = row["anomalies"]
    return ", ".join(f"{k} {n:,}" for k, n in found.items()) if found else "none"


def print_isolation(result: IsolationRuns) -> None:
    if not result.rows and not result.left_out:
        return
    w = result.workload
    table = Table(title=f"isolation: {w.get('model')} transactions on {w.get('keys')} hot keys, "
                        f"x{w.get('concurrency')} clients (anomalies the checker found)")
    for col in ("store", "level", "promises", "txns", "ok", "aborted", "unknown", "ok/s", "anomalies", "broken"):
        table.add_column(col, justify="right" if col in ("txns", "ok", "aborted", "unknown", "ok/s") else "left")
    for r in result.rows:
        c = r["txns"]
        table.add_row(r["store"], r["level"], r["promise"], f"{c['total']:,}", f"{c['ok']:,}", f"{c['fail']:,}",
                      f"{c['info']:,}", f"{r['ok_per_s']:,.0f}", escape(anomalies_text(r)),
                      "[red]" + escape(", ".join(r["broken"])) + "[/red]" if r["broken"] else "-")
    console.print(table)
    for r in result.rows:
        for kind, cycle in r["examples"].items():
            console.print(f"  {r['store']} {r['level']}: {kind}: {escape(cycle)}", highlight=False)
    for store, why in result.left_out.items():
        console.print(f"  {store}: left out: {escape(why)}", highlight=False)
