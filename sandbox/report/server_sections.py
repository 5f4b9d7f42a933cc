"""report.html tables of the servers' own statistics, from summary.json."""

from __future__ import annotations

from typing import Any

from sandbox.report.table_data import TableData


def server_stats(summary: dict[str, Any]) -> list[TableData]:
    stats = summary.get("server_stats")
    if not stats or not stats.get("run"):
        return []
    head = TableData("server-stats", "server statistics: change over the run, as each server counts it",
                     ["store", "source", "headline", "not available"])
    for name, d in stats["run"].items():
        head.add(name, d.get("source"), "; ".join(f"{k} {v}" for k, v in d.get("headline", {}).items()) or "-",
                 "; ".join(d.get("unavailable") or []) or "-")
    check = TableData("cross-check", "orders written per the client vs writes counted by the server",
                      ["store", "client orders", "server count", "difference", "server counter (what it counts)"])
    for name, c in stats.get("cross_check", {}).items():
        if c.get("server_counter"):
            check.add(name, c["client_orders_written"], c["server_writes_seen"], c["difference"],
                      f"{c['server_counter']} ({c['what_it_counts']})")
    out = [head, check]
    for name, d in stats["run"].items():
        if d.get("top_statements"):
            top = TableData(f"statements-{name}", f"{name}: top statements by total time over the run",
                            ["calls", "total ms", "rows", "query"])
            for s in d["top_statements"]:
                top.add(s["calls"], s["total_ms"], s["rows"], s["query"][:160])
            out.append(top)
    return out
