"""The drill's terminal tables: per store RPO / RTO, and each backup's duration, size and foreground p99."""

from __future__ import annotations

from rich.markup import escape
from rich.table import Table

from sandbox.experiments.backups.result import BackupRun, DrillRow
from sandbox.report.console import console


def rpo(row: DrillRow) -> str:
    if row.lost is None:
        return "-"
    window = f" (acked {row.lost_window_s[0]:g}..{row.lost_window_s[1]:g} s before)" if row.lost_window_s else ""
    return f"{row.lost:,}{window}"


def print_drill(result: BackupRun) -> None:
    if result.rows:
        table = Table(title="backups: a disaster (kill -9 + data directory deleted), restore from the newest backup")
        for col in ("store", "server", "method", "continuous", "acked", "RPO: acked lost", "unknown", "RTO s",
                    "restored from", "baseline p99 ms"):
            table.add_column(col)
        for r in result.rows:
            table.add_row(r.store, escape(r.server), r.method, escape(r.continuous), f"{r.acknowledged:,}", rpo(r),
                          "-" if r.unknown is None else f"{r.unknown:,}",
                          "-" if r.rto_s is None else f"{r.rto_s:.2f}", escape(r.restored_from or "-"),
                          "-" if r.baseline_p99_ms is None else f"{r.baseline_p99_ms:.2f}")
        console.print(table)
        each = Table(title="backups: each scheduled backup (p99 of the writes started while it ran)")
        for col in ("store", "at s", "roots acked then", "duration s", "size", "p99 ms during", "writes", "error"):
            each.add_column(col)
        for r in result.rows:
            for b in r.backups:
                each.add_row(r.store, f"{b.at_s:.2f}", f"{b.acked_before:,}", f"{b.duration_s:.2f}",
                             f"{b.size_bytes:,} B", "-" if b.p99_ms is None else f"{b.p99_ms:.2f}", str(b.writes),
                             escape(b.error or ""))
        console.print(each)
        for r in result.rows:
            if r.error or r.note:
                console.print(f"{r.store}: {escape(r.error or r.note)}", highlight=False)
    for p in result.pitr:
        console.print(f"point-in-time {p.store} to {p.target}: {p.before:,} acknowledged before T, "
                      f"{p.missing_before} of them missing; {p.after:,} sent after T, {p.present_after} of them "
                      f"present; {p.in_flight} in flight at T (unknown, {p.in_flight_present} present)"
                      + (f"; error: {escape(p.error)}" if p.error else ""), highlight=False)
    for store, why in result.not_possible.items():
        console.print(f"backups: {store}: {escape(why)}", highlight=False)
    if result.failure_simulated:
        console.print(f"simulated: {escape(result.failure_simulated)}", highlight=False)
