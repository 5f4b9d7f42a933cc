"""The migrations in report.html, from summary.json."""

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
