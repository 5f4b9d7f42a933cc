"""What a mix run adds to the report: operations left out, the update check, and capacity at a latency target."""

from __future__ import annotations

from rich.table import Table

from sandbox.experiments.mixes.state import MixRun, SweepPoint
from sandbox.measure.update_checker import ORDER_FINDINGS, STOCK_FINDINGS
from sandbox.report.console import console
from sandbox.scenario.context import RunContext


def print_mix(ctx: RunContext, state: MixRun) -> None:
    if state.spec is not None:
        shares = ", ".join(f"{name} {share:.0%}" for name, share in state.spec.proportions)
        d = state.spec.distribution
        shape = {"zipfian": f"zipfian skew {d.skew:g}", "latest": f"latest skew {d.skew:g}",
                 "hotspot": f"hotspot {d.hot_share:.0%} of operations on {d.hot_fraction:.0%} of keys"}
        console.print(f"mix: {shares}; keys {shape.get(d.name, d.name)}; data set {state.loaded:,} orders "
                      "(loaded before the run, reported as op `load`)")
    for store, left in state.left_out.items():
        if left:
            why = ctx.stores[store].store.concurrency_control or "the store lacks the capability"
            console.print(f"  {store}: left out of {', '.join(f'{op} ({n})' for op, n in left.items())}: {why}")
    if missed := {store: n for store, n in state.not_found.items() if n}:
        console.print("  reads by id that found no order (an insert still on its way, or lost): "
                      + ", ".join(f"{store} {n}" for store, n in missed.items()))
    if state.checks:
        console.print(update_table(ctx, state))
        for name, check in state.checks.items():
            for verdict, examples in {**check.orders.examples, **check.stock.examples}.items():
                console.print(f"  [red]{name} {verdict}[/]: {'; '.join(examples[:3])}")
    if state.capacity:
        console.print(capacity_table(ctx, state))
    for kind, points in state.sweeps.items():
        console.print(sweep_table(kind, points))
    steps = [(n, s.rate, s.first_error) for n, c in state.capacity.items() for s in c.steps] + \
        [(p.store, p.x, p.result.first_error) for points in state.sweeps.values() for p in points]
    for store, at, error in steps:
        if error:
            console.print(f"  [red]{store} at {at:,.0f}[/]: {error}")


def update_table(ctx: RunContext, state: MixRun) -> Table:
    table = Table(title="updates checked (each order's final state against the legal ones; stock per product "
                        "= initial - acknowledged decrements, within the unknown ones)")
    for col in ("store", "control", "orders", "ok", "unknown, landed", "lost update", "impossible",
                "failed, applied", "missing", "products", "stock wrong", "verdict"):
        table.add_column(col, justify="left" if col in ("store", "control", "verdict") else "right")
    for name, check in state.checks.items():
        o, s = check.orders.counts, check.stock.counts
        control = ctx.stores[name].store.concurrency_control
        verdict = (f"[red]ERROR: {check.error}[/]" if check.error else "not checked" if check.skipped else
                   "[red]FINDINGS[/]" if check.has_findings else
                   "[green]no lost updates[/]" if o or check.stock_checked else "nothing to check")
        table.add_row(name, control.split(" (")[0].split(":")[0], str(sum(o.values())), str(o.get("ok", 0)),
                      str(o.get("ok_unknown", 0)), *(_red(o.get(v, 0)) for v in ORDER_FINDINGS),
                      str(sum(s.values())) if check.stock_checked else "-",
                      _red(sum(s.get(v, 0) for v in STOCK_FINDINGS)) if check.stock_checked else "-", verdict)
    return table


def capacity_table(ctx: RunContext, state: MixRun) -> Table:
    first = next(iter(state.capacity.values()))
    table = Table(title=f"capacity: highest open-loop rate with {first.slo}, no errors, on schedule "
                        "(curve: target ops/s -> percentile ms; x = did not hold)")
    for col in ("store", "server (as reported)", "capacity ops/s", "first failing", "limited by", "curve"):
        table.add_column(col, justify="right" if col in ("capacity ops/s", "first failing") else "left")
    for name, result in state.capacity.items():
        server = ctx.servers[name]
        curve = " ".join(f"{s.rate:,.0f}->{'-' if s.percentile_ms is None else f'{s.percentile_ms:.1f}'}"
                         f"{'' if s.holds(result.slo) else 'x'}" for s in sorted(result.steps, key=lambda s: s.rate))
        limited = result.limited_by if result.limited_by == "store" else f"[red]{result.limited_by}[/]"
        table.add_row(name, f"{server.product} {server.version}",
                      "none held" if result.capacity is None else f"{result.capacity:,.0f}",
                      "-" if result.ceiling is None else f"{result.ceiling:,.0f}", limited, curve)
    return table


def sweep_table(kind: str, points: list[SweepPoint]) -> Table:
    xs = sorted({p.x for p in points})
    label = "concurrency (closed loop)" if kind == "concurrency" else "orders in the data set"
    table = Table(title=f"sweep over {label}: ops/s @ p50/p99 ms of the whole mix",
                  caption="CLIENT / HOST: the harness process / the whole machine was saturated (docs/measurement.md)")
    table.add_column("store")
    for x in xs:
        table.add_column(f"{x:,}", justify="right")
    for store in dict.fromkeys(p.store for p in points):
        cells = {p.x: p for p in points if p.store == store}
        table.add_row(store, *(_point(cells[x]) if x in cells else "-" for x in xs))
    return table


def _point(p: SweepPoint) -> str:
    r = p.result
    ms = "/".join("-" if v is None else f"{v:.1f}" for v in (r.p50_ms, r.percentile_ms))
    rate = "-" if r.achieved is None else f"{r.achieved:,.0f}"
    return f"{rate} @ {ms}" + (f" [red]{r.errors} err[/]" if r.errors else "") + \
        "".join(f" [red]{f.split('-')[0].upper()}[/]" for f in r.flags)


def _red(n: int) -> str:
    return f"[red]{n}[/]" if n else "0"
