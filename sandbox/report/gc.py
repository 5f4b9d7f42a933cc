"""What `sandbox gc` found and did: one line per marked namespace (greppable, never wrapped)."""

from __future__ import annotations

from rich.markup import escape

from sandbox.report.console import console
from sandbox.stores.gc import StoreLeftovers


def _age(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f}{unit}"
    return f"{seconds:.0f}s"


def print_gc(results: list[StoreLeftovers], dropping: bool) -> None:
    console.print("namespaces left by sandbox runs (each marked with its run id, creation time, host and pid):")
    found = False
    for r in results:
        if r.error:
            console.print(f"  {r.store:<9} [yellow]not checked[/]: {escape(r.error)}", soft_wrap=True)
        for left in r.leftovers:
            found = True
            m = left.marker
            action = left.action if dropping or left.action != "drop" else "would drop (dry run)"
            console.print(f"  {r.store:<9} {m.namespace}  run {m.run_id}  created {m.created_at:%Y-%m-%d %H:%M:%S} "
                          f"UTC ({_age(left.age_s)} ago) on {m.host} pid {m.pid}: {action}", soft_wrap=True)
        if r.unmarked:
            console.print(f"  {r.store:<9} {len(r.unmarked)} namespace(s) with the sbx_ prefix but no marker, left "
                          f"alone: {', '.join(r.unmarked[:5])}" + (" ..." if len(r.unmarked) > 5 else ""),
                          soft_wrap=True)
    if not found:
        console.print(f"  none on {', '.join(r.store for r in results)}")
    candidates = sum(1 for r in results for left in r.leftovers if left.action in ("drop", "dropped"))
    if not dropping:
        console.print(f"dry run: nothing dropped; `sandbox gc --yes` drops the {candidates} marked as would drop")
