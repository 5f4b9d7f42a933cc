"""What `sandbox gc` found and did, per store."""

from __future__ import annotations

from rich.markup import escape
from rich.table import Table

from sandbox.report.console import console
from sandbox.stores.gc import StoreLeftovers


def _age(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f}{unit}"
    return f"{seconds:.0f}s"


def print_gc(results: list[StoreLeftovers], dropping: bool) -> None:
    table = Table(title="namespaces left by sandbox runs (marked: run id, creation time, host, pid)")
    for col in ("store", "namespace", "run id", "created (UTC)", "age", "host / pid", "action"):
        table.add_column(col)
    for r in results:
        if r.error:
            table.add_row(r.store, "-", "-", "-", "-", "-", f"[yellow]not checked[/]: {escape(r.error)}")
        for left in r.leftovers:
            m = left.marker
            action = left.action if dropping or left.action != "drop" else "would drop (dry run)"
            table.add_row(r.store, m.namespace, m.run_id, f"{m.created_at:%Y-%m-%d %H:%M:%S}", _age(left.age_s),
                          f"{m.host} / {m.pid}", action)
    if table.row_count:
        console.print(table)
    else:
        console.print(f"no marked namespaces on {', '.join(r.store for r in results)}")
    for r in results:
        if r.unmarked:
            console.print(f"  {r.store}: {len(r.unmarked)} namespace(s) with the sbx_ prefix but no marker, left "
                          f"alone: {', '.join(r.unmarked[:5])}" + (" ..." if len(r.unmarked) > 5 else ""))
    candidates = sum(1 for r in results for left in r.leftovers if left.action in ("drop", "dropped"))
    if not dropping:
        console.print(f"dry run: nothing dropped; `sandbox gc --yes` drops the {candidates} marked as would drop")
