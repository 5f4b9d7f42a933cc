"""The disk_full step's results: per store, what happened to writes on a full disk, and after the space returned."""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from rich.table import Table

from sandbox.report.console import console


def print_disk_full(r: dict[str, Any]) -> list[str]:
    """Print what the disk_full step measured, when the run had one; returns its findings (no recovery)."""
    if not r or not r["stores"]:
        return []
    table = Table(title=f"disk full: each store on a {r['size'] // 2**20} MB tmpfs (private mount namespace) filled to "
                        f"{r['headroom'] // 2**10} kB free, then the orders; then the space back, a restart, a check "
                        "(measured)")
    for col in ("store (server)", "while full: acked / refused / unknown", "server after", "first error",
                "space back", "first write ok after", "after restart: writes ok", "lost / divergent / present"):
        table.add_column(col, overflow="fold")
    findings = []
    for name, s in r["stores"].items():
        full, rec = s.get("full", {}), s.get("recovery", {})
        after = s.get("after_restart") or {}
        counts = after.get("counts", {})
        present = counts.get("ok", 0) + counts.get("unknown_then_present", 0) + counts.get("failed_but_present", 0)
        first_ok = rec.get("first_ok_after_s")
        if rec and first_ok is None:
            findings.append(f"{name} took no write within {rec.get('tried')} attempts after its disk space returned")
        table.add_row(
            f"{name} ({escape(s['server'])})",
            f"{full.get('acknowledged', '-')} / {full.get('failed', '-')} / {full.get('unknown', '-')}",
            "running" if full.get("server_running_after") else "[red]exited[/]",
            escape((full.get("first_errors") or ["none"])[0][:160]),
            escape(rec.get("how", "-")) + (" (server started again: it had exited)" if rec.get("server_restarted")
                                           else ""),
            "[red]never[/]" if rec and first_ok is None else f"{first_ok} s" if first_ok is not None else "-",
            f"{s['after_restart_writes']['ok']} of {s['after_restart_writes']['tried']} tried"
            if "after_restart_writes" in s else "-",
            (f"[red]{after['error']}[/]" if after.get("error") else
             f"{counts.get('lost', 0)} / {counts.get('divergent', 0)} / {present}") if after else "-")
    console.print(table)
    return findings
