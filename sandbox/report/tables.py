"""The run's own terminal tables: latency per store and op, the client side, errors, flags and notes."""

from __future__ import annotations

from rich import box
from rich.table import Table

from sandbox.measure.latency import summarize
from sandbox.measure.saturation import ClientLoad
from sandbox.report.console import console
from sandbox.report.sections import calls_cell, calls_notes
from sandbox.scenario.context import RunContext


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}" if value < 100 else f"{value:.0f}"


MAIN = ("store", "op", "ok", "failed", "unknown", "orders/s", "p50", "p90", "p99", "p99.9", "max", "server calls/op")
SECONDARY = ("server (as reported)", "svc p50", "svc p99", "proc p50", "client")
TEXT = ("store", "op", "server (as reported)", "client")


def latency_table(ctx: RunContext, columns: tuple[str, ...] = MAIN) -> Table:
    """Response time per store and op; `columns` picks from MAIN + SECONDARY (the second table, or --wide)."""
    main = set(MAIN) <= set(columns)
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False,
                  title="latency (ms, HdrHistogram; p50..max = response time of successes from each operation's "
                        "intended start (failed and unknown ones: below the table); a batch is one op)" if main else
                  "servers and the client side (ms; svc = service time from the send, proc = client processing; "
                  "client = harness CPU, schedule lag, flags: docs/measurement.md)")
    for col in columns:
        table.add_column(col, justify="left" if col in TEXT else "right")
    calls = ctx.server_stats.calls_per_op()
    for name, ts in ctx.stores.items():
        server = ctx.servers[name]
        for i, (op, stats) in enumerate(ts.stats.items()):
            lat, svc = summarize(stats.latency), summarize(stats.service)
            load = ctx.loads.get(name, {}).get(op)
            rate = stats.items / load.elapsed_s if load and load.elapsed_s else None
            cell = {"store": name if i == 0 else "", "op": op, "ok": str(stats.ok), "failed": _red(stats.failed),
                    "unknown": _red(stats.unknown), "orders/s": "-" if rate is None else f"{rate:,.0f}",
                    **{k: _ms(lat[k]) for k in ("p50", "p90", "p99", "p99.9", "max")},
                    "server (as reported)": f"{server.product} {server.version}" if i == 0 else "",
                    "svc p50": _ms(svc["p50"]), "svc p99": _ms(svc["p99"]),
                    "proc p50": _ms(summarize(stats.processing)["p50"]),
                    "client": client_cell(load.client if load else None),
                    "server calls/op": calls_cell(calls.get(name, {}).get(op))}
            table.add_row(*(cell[c] for c in columns))
    return table


def error_lines(ctx: RunContext) -> list[str]:
    """Beside the successes: the failed and unknown operations' own latency, and the p99 over every attempt."""
    lines = []
    for name, ts in ctx.stores.items():
        for op, stats in ts.stats.items():
            if not (stats.failed or stats.unknown or stats.warmup_errors):
                continue
            parts = [f"{label} p99 {_ms(summarize(hist)['p99'])} ms ({n})" for label, hist, n in
                     (("failed", stats.failed_response, stats.failed), ("unknown", stats.unknown_response,
                                                                          stats.unknown)) if n]
            parts.append(f"p99 over all attempts {_ms(summarize(stats.all_attempts())['p99'])} ms "
                         f"(successes {_ms(summarize(stats.latency)['p99'])} ms)")
            if stats.warmup_errors:
                parts.append(f"[red]{stats.warmup_errors} errors during the warm-up[/]")
            lines.append(f"  {name} {op}: " + ", ".join(parts))
    return lines


def client_cell(client: ClientLoad | None) -> str:
    """The harness's CPU share and, in red, what makes the row untrustworthy (see measure/saturation.py)."""
    if client is None:
        return "-"
    text = f"cpu {client.cpu:.0%}" + (f" host {client.host_cpu:.0%}" if client.host_cpu is not None else "")
    if client.target_rate is not None:
        text += f" lag {client.lag_mean_ms:.1f}ms"
    if client.missed:
        text += f" missed {client.missed}"
    return text + "".join(f" [red]{flag.upper()}[/]" for flag in client.flags)


def print_run(ctx: RunContext, wide: bool = False) -> None:
    if any(ts.stats for ts in ctx.stores.values()):  # a scenario may measure with stores of its own
        if wide:  # one table, as wide as it needs
            console.print(latency_table(ctx, MAIN[:2] + SECONDARY[:1] + MAIN[2:] + SECONDARY[1:]), width=10_000)
        else:
            console.print(latency_table(ctx))
        for line in error_lines(ctx):
            console.print(line)
        for line in calls_notes(ctx.server_stats.calls_per_op()):
            console.print(f"  {line}", highlight=False)
        if not wide:
            console.print(latency_table(ctx, ("store", "op", *SECONDARY)))


def print_footer(ctx: RunContext) -> None:
    """After every table: the first errors, measurement flags, the run's notes, and who answered."""
    for name, ts in ctx.stores.items():
        for op, stats in ts.stats.items():
            for err in stats.first_errors:
                console.print(f"  {name} {op} error: {err}")
    flagged = sorted({f for ops in ctx.loads.values() for load in ops.values() if load.client
                      for f in load.client.flags})
    if flagged:
        console.print(f"  [red]measurement flags: {', '.join(flagged)}[/]: these rows measure the client as much as "
                      "the store (see docs/measurement.md)")
    for note in ctx.notes:
        console.print(f"  note: {note}")
    servers = {s.product for s in ctx.servers.values()}
    if any(p.startswith(("SecantusDB", "OpenSearch API")) for p in servers):
        console.print("  note: MongoDB and/or Elasticsearch were answered by stand-ins (see server column); "
                      "their numbers are the stand-ins', not the products'.")


def _red(n: int) -> str:
    return f"[red]{n}[/]" if n else "0"
