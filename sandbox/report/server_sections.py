"""report.html tables of the servers' own statistics, from summary.json."""

from __future__ import annotations

from typing import Any

from sandbox.report.table_data import TableData


def value(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}" if abs(v) < 1e6 else f"{v:,.0f}"
    return str(v)


def headline_lines(diff: dict[str, Any]) -> list[str]:
    """A store's change as headline lines; a store that restarted during it gets one block per span of its
    counters (before and after each restart), never a negative change."""
    if not diff.get("spans"):
        return [f"{k} {value(v)}" for k, v in diff.get("headline", {}).items()]
    lines: list[str] = []
    for i, span in enumerate(diff["spans"]):
        if span.get("restart"):
            lines.append(f"RESTARTED: {span['restart']}; what it counted from {diff['spans'][i - 1]['to']} to the "
                         "restart was not seen")
        lines.append(f"from {span['from']} to {span['to']}:")
        lines += [f"  {k} {value(v)}" for k, v in span["headline"].items()]
    return lines


def server_stats(summary: dict[str, Any]) -> list[TableData]:
    stats = summary.get("server_stats")
    if not stats or not stats.get("run"):
        return []
    head = TableData("server-stats", "server statistics: change over the run, as each server counts it",
                     ["store", "source", "headline", "not available"])
    for name, d in stats["run"].items():
        head.add(name, d.get("source"), "; ".join(headline_lines(d)) or "-",
                 "; ".join(d.get("unavailable") or []) or "-")
    check = TableData("cross-check", "orders written per the client vs writes counted by the server",
                      ["store", "client orders", "server count", "difference", "server counter (what it counts)"])
    for name, c in stats.get("cross_check", {}).items():
        if c.get("server_counter") and c.get("client_orders_written") is not None:
            check.add(name, c["client_orders_written"], c["server_writes_seen"],
                      "- (restarted: counted in spans)" if c.get("restarted") else c["difference"],
                      f"{c['server_counter']} ({c['what_it_counts']})")
    out = [head, *([check] if check.rows else [])]
    for name, d in stats["run"].items():
        if d.get("top_statements"):
            top = TableData(f"statements-{name}", f"{name}: top statements by total time over the run",
                            ["calls", "total ms", "rows", "query"])
            for s in d["top_statements"]:
                top.add(s["calls"], s["total_ms"], s["rows"], s["query"][:160])
            out.append(top)
    return out
