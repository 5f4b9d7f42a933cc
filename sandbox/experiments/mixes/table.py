"""What a mix run adds to the report: patterns left out, the update check, and capacity at a latency target."""

from __future__ import annotations

from rich.table import Table

from sandbox.experiments.mixes.state import MixRun, SweepPoint
from sandbox.measure.pattern_checker import COUNTER_FINDINGS, FLOOR_FINDINGS, STATE_FINDINGS
from sandbox.report.console import console
from sandbox.scenario.context import RunContext


def print_mix(ctx: RunContext, state: MixRun) -> None:
    if state.choice is not None:
        c = state.choice
        shares = ", ".join(f"{name} {share:.0%}" for name, share in c.mix.weights)
        keys = c.keys()
        shown = next(iter(keys.values())) if len(set(keys.values())) == 1 else \
            ", ".join(f"{name} {shape}" for name, shape in keys.items())
        console.print(f"mix {c.mix.name} of model {c.model.name}: {shares}; keys {shown}; data set "
                      f"{state.loaded:,} {ctx.model.root_entity.plural} (loaded before the run, reported as op `load`)")
    for store, left in state.left_out.items():
        orphans = state.orphaned.get(store, {})
        reasons = state.not_answerable.get(store, {})
        for op, n in left.items():
            if n > orphans.get(op, 0):
                then = ctx.model.patterns[op].then
                why = reasons.get(op) or (f"{then}: {reasons[then]}" if then in reasons else "not answerable")
                console.print(f"  {store}: left out {op} ({n - orphans.get(op, 0)}), not answerable in its design: "
                              f"{why}")
        if orphans:
            console.print(f"  {store}: also left out {', '.join(f'{op} ({n})' for op, n in orphans.items())}: "
                          "on instances whose insert it was not sent")
    if missed := {store: n for store, n in state.not_found.items() if n}:
        console.print("  gets that found nothing (an insert still on its way, or lost): "
                      + ", ".join(f"{store} {n}" for store, n in missed.items()))
    if state.checks:
        console.print(update_table(state))
        for name, check in state.checks.items():
            for verdict, examples in check.examples.items():
                console.print(f"  [red]{name} {verdict}[/]: {'; '.join(examples[:3])}")
    if state.capacity:
        console.print(capacity_table(ctx, state))
    for kind, points in state.sweeps.items():
        console.print(sweep_table(kind, points, ctx.model.root_entity.plural))
    steps = [(n, s.rate, s.first_error) for n, c in state.capacity.items() for s in c.steps] + \
        [(p.store, p.x, p.result.first_error) for points in state.sweeps.values() for p in points]
    for store, at, error in steps:
        if error:
            console.print(f"  [red]{store} at {at:,.0f}[/]: {error}")


def update_table(state: MixRun) -> Table:
    table = Table(title="writes checked (each changed instance's final state against the legal ones, each inserted "
                        "one there unless its insert failed; counters = initial -/+ acknowledged, within the unknown "
                        "ones, never past the floor)")
    for col in ("store", "control", "instances", "ok", "unknown, landed", "lost update", "impossible",
                "failed, applied", "missing", "counters", "counter wrong", "verdict"):
        table.add_column(col, justify="left" if col in ("store", "control", "verdict") else "right")
    for name, check in state.checks.items():
        o, i = check.states.counts, check.inserts.counts
        found = {"ok": o.get("ok", 0) + i.get("ok", 0), "lost_update": o.get("lost_update", 0),
                 "impossible": o.get("impossible", 0),
                 "failed_but_applied": o.get("failed_but_applied", 0) + i.get("failed_but_present", 0),
                 "missing": o.get("missing", 0) + i.get("lost_insert", 0)}
        counters = check.decrements.total + check.increments.total
        wrong = check.decrements.of(FLOOR_FINDINGS) + check.increments.of(COUNTER_FINDINGS)
        verdict = (f"[red]ERROR: {check.error}[/]" if check.error else
                   "not checked (answers none of the mix's writes)" if check.skipped else
                   "[red]FINDINGS[/]" if check.has_findings else
                   "[green]nothing lost[/]" if o or i or counters else "nothing to check")
        table.add_row(name, state.control.get(name, "-").split(":")[0], str(check.states.total + check.inserts.total),
                      str(found["ok"]), str(o.get("ok_unknown", 0)), *(_red(found[v]) for v in STATE_FINDINGS),
                      str(counters) if counters else "-", _red(wrong) if counters else "-", verdict)
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


def sweep_table(kind: str, points: list[SweepPoint], plural: str = "instances") -> Table:
    xs = sorted({p.x for p in points})
    label = "concurrency (closed loop)" if kind == "concurrency" else f"{plural} in the data set"
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
