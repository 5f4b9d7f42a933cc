"""The migration scenario's table: each schema change (and rollback) against the baseline."""

from __future__ import annotations

from rich.markup import escape
from rich.table import Table

from sandbox.experiments.migrations.results import MigrationRun
from sandbox.report.console import console


def _yes_no(value: bool | None) -> str:
    return "?" if value is None else "[red]yes[/]" if value else "no"


def print_migrations(run: MigrationRun) -> None:
    b = run.baseline
    table = Table(title=f"{run.store}: migrations under {run.rate:.0f} writes/s ({escape(run.rate_source)}); "
                        f"baseline p99 {b.p99_ms:.1f} ms, max {b.max_ms:.1f} ms over {b.ops} writes; "
                        f"lock_timeout {run.lock_timeout_ms or 'off'} ms, retries {run.retries}, "
                        f"long reader {run.reader_s:g} s")
    # Short headers so the table fits 100 columns; the legend below names each migration.
    for col in ("step", "tries", "took s", "lock wait s", "rewrote", "ops", "p99 ms", "max ms", ">2x base s",
                "fail", "blk", "blk s"):
        table.add_column(col, justify="left" if col == "step" else "right", no_wrap=col == "step")
    for s in run.steps:
        w = s.window
        table.add_row(f"{s.name[:4]} {s.direction}", str(s.attempts) if s.ok else f"[red]{s.attempts} failed[/]",
                      f"{s.duration_s:.2f}", f"{s.locks['migration_lock_wait_s']:.2f}", _yes_no(s.rewritten),
                      str(w.ops), f"{w.p99_ms:.1f}", f"{w.max_ms:.1f}", f"{s.above_2x_s:.2f}",
                      str(w.failed + w.unknown), str(s.locks["blocked_sessions_max"]),
                      f"{s.locks['blocked_session_s']:.2f}")
    console.print(table)
    console.print("ops: writes due in the window; lock wait: the migration's own (sampled); blk: most sessions "
                  "waiting on a lock at once; blk s: session-seconds", highlight=False)
    for s in {s.name: s for s in run.steps}.values():
        console.print(f"  {s.name[:4]} {escape(s.name[5:])}: {escape(s.summary)}", highlight=False)
    for s in run.steps:
        if s.error:
            console.print(f"  {s.name} {s.direction}: {escape(s.error)}", highlight=False)
    if run.schema_restored:
        console.print("schema after every rollback: [green]same as before the migrations[/]")
    elif run.schema_restored is False:
        console.print("[red]schema after the rollbacks differs from the original:[/]")
        for line in run.schema_diff[:20]:
            console.print(f"  {escape(line)}", highlight=False)
    if run.timeline_csv:
        console.print(f"timeline (100 ms bins, writes by intended start, lock waits sampled): {run.timeline_csv}")
