"""The drill in report.html, from summary.json `backups`."""

from __future__ import annotations

from typing import Any

from sandbox.report.table_data import TableData


def tables(summary: dict[str, Any]) -> list[TableData]:
    doc = summary.get("backups")
    if not doc:
        return []
    out = []
    if doc["rows"]:
        t = TableData("backups", "restore drill: kill -9 + data directory deleted, restore from the newest backup",
                      ["store", "method", "continuous", "acknowledged", "RPO (acked lost)", "lost window (s before)",
                       "unknown", "RTO s", "disaster at s", "backups (at s: duration s, bytes, p99 ms)",
                       "baseline p99 ms"])
        for r in doc["rows"]:
            window = r["lost_window_s"]
            t.add(r["store"], r["method"], r["continuous"], r["acknowledged"], r["lost"],
                  f"{window[0]:g}..{window[1]:g}" if window else "-", r["unknown"], r["rto_s"], r["disaster_at_s"],
                  "; ".join(f"{b['at_s']:g}: {b['duration_s']:g}, {b['size_bytes']:,}, {b['p99_ms']}"
                            for b in r["backups"]), r["baseline_p99_ms"])
        t.notes.append(doc.get("failure_simulated", ""))
        out.append(t)
    if doc["pitr"]:
        p = TableData("pitr", "point-in-time restore to T: every root acknowledged before T present, none sent after",
                      ["store", "T", "acked before T", "missing of those", "sent after T", "present of those",
                       "in flight at T (unknown)", "present of those"])
        for r in doc["pitr"]:
            p.add(r["store"], r["target"], r["before"], r["missing_before"], r["after"], r["present_after"],
                  r["in_flight"], r["in_flight_present"])
        out.append(p)
    for store, why in doc.get("not_possible", {}).items():
        if out:
            out[0].notes.append(f"{store}: {why}")
    return out
