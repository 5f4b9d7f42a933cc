"""report.html tables for the migration scenario and the servers' own statistics, from summary.json."""

from __future__ import annotations

from typing import Any

from sandbox.report.table_data import Cell, TableData, count


def migration(summary: dict[str, Any]) -> TableData | None:
    run = summary.get("migration")
    if not run:
        return None
    b = run["baseline"]
    t = TableData("migration", f"{run['store']}: migrations under {run['rate']:.0f} writes/s ({run['rate_source']}); "
                  f"baseline p99 {b['p99_ms']} ms, max {b['max_ms']} ms",
                  ["migration", "dir", "tries", "took s", "DDL lock wait s", "rewritten", "writes due", "p99 ms",
                   "max ms", "p99 > 2x baseline s", "failed", "blocked max", "blocked session-s"])
    for s in run["steps"]:
        t.add(s["name"], s["direction"], Cell(str(s["attempts"]), bad=not s["ok"]), s["duration_s"],
              s.get("migration_lock_wait_s"), "?" if s["rewritten"] is None else "yes" if s["rewritten"] else "no",
              s["ops"], s["p99_ms"], s["max_ms"], s["p99_above_2x_baseline_s"], count(s["failed"] + s["unknown"]),
              s.get("blocked_sessions_max"), s.get("blocked_session_s"))
    t.notes.append(f"lock_timeout {run['lock_timeout_ms'] or 'off'} ms, retries {run['retries']}, "
                   f"long reader {run['reader_s']} s; timeline: {run.get('timeline_csv')}")
    if run.get("schema_restored") is False:
        t.notes.append("the schema after the rollbacks differs from the original: "
                       + "; ".join(run["schema_diff"][:10]))
    elif run.get("schema_restored"):
        t.notes.append("schema after every rollback: same as before the migrations")
    return t


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
