"""The core experiment on the terminal: every store's read-back against what was sent."""

from __future__ import annotations

from rich import box
from rich.table import Table

from sandbox.experiments.orders.result import ReadBack
from sandbox.report.console import console
from sandbox.scenario.context import RunContext
from sandbox.workload.model import COMPARED_FIELDS


def _red(n: int) -> str:
    return f"[red]{n}[/]" if n else "0"


def consistency_table(ctx: RunContext, result: ReadBack) -> Table:
    table = Table(title="consistency (every order read back and compared with what was sent)", box=box.SIMPLE_HEAD,
                  pad_edge=False)
    for col in ("store", "held", "missing", "extra", "differ", "fields compared", "money", "aggregates", "verdict"):
        table.add_column(col)
    for name in ctx.stores:
        if (c := result.comparisons.get(name)) is None:
            continue
        drifts = [a for a in c.aggregates if a.kind == "drift"]
        mismatches = [a for a in c.aggregates if a.kind == "mismatch"]
        aggs = ("[red]" + ", ".join(f"{a.status}: {a.count}/{a.revenue} vs {a.expected_count}/{a.expected_revenue}"
                                    for a in mismatches[:2]) + "[/]") if mismatches else \
            f"ok, float drift {c.drift:+.2E} (rounds exact)" if drifts else "ok (exact)"
        verdict = "[green]consistent[/]" if c.consistent else f"[red]INCONSISTENT[/]{': ' + c.error if c.error else ''}"
        table.add_row(name, str(c.held), _red(len(c.missing)), _red(len(c.extra)), _red(c.differing_orders),
                      _fields(c.fields_compared), ctx.stores[name].store.money_note, aggs, verdict)
    return table


def print_read_back(ctx: RunContext, result: ReadBack) -> None:
    if not result.comparisons:
        return
    console.print(consistency_table(ctx, result))
    for name, c in result.comparisons.items():
        for label, ids in (("missing", c.missing), ("extra", c.extra)):
            if ids:
                console.print(f"  {name}: {len(ids)} {label}, e.g. {', '.join(sorted(ids)[:3])}")
        for d in c.differing[:3]:
            console.print(f"  {name}: order {d.order_id} {d.field}: sent {d.expected}, store has {d.got}")


def _fields(compared: set[str]) -> str:
    not_kept = [f for f in COMPARED_FIELDS if f not in compared]
    if not compared:
        return "-"
    return f"all {len(COMPARED_FIELDS)}" if not not_kept else f"{len(compared)}; not kept: {', '.join(not_kept)}"
