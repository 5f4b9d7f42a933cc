"""The analytics query set per store on the terminal."""

from __future__ import annotations

from rich.markup import escape
from rich.table import Table

from sandbox.experiments.analytics.run import AnalyticsRun
from sandbox.report.console import console
from sandbox.scenario.context import RunContext
from sandbox.stores.analytics import DESCRIPTIONS, Query

VERDICT = {"agrees": "[green]agrees[/]", "reference": "reference", "drift": "[yellow]drift[/]",
           "differs": "[red]DIFFERS[/]", "error": "[red]error[/]", "not answerable": "[dim]not answerable[/]"}


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}" if value < 100 else f"{value:,.0f}"


def analytics_table(ctx: RunContext, run: AnalyticsRun) -> Table:
    table = Table(title=f"analytics: {run.loaded:,} orders, each store in its own query language, answers compared "
                        f"with {run.reference}'s (ms, HdrHistogram; cold = first execution, warm = {run.repeats} "
                        "repeats)")
    for col in ("query", "store", "server", "answer", "rows", "cold", "warm p50", "warm p99", "detail"):
        table.add_column(col, justify="right" if col in ("rows", "cold", "warm p50", "warm p99") else "left")
    for query in Query:
        for i, (store, checks) in enumerate(run.checks.items()):
            check = checks[query]
            lat = run.latency(store, query)
            cold = lat.get("cold_ms") or {}
            warm = lat.get("warm_ms") or {}
            detail = "" if check.kind == "not answerable" else check.reason or "; ".join(check.examples) or check.how
            if check.kind == "drift":
                detail = f"sums off by {check.drift:.2E} in total (float money)" + (
                    f"; {check.how}" if check.how else "")
            server = ctx.servers[store]
            table.add_row(DESCRIPTIONS[query] if i == 0 else "", store, f"{server.product} {server.version}",
                          VERDICT.get(check.kind, check.kind),
                          str(check.rows) if check.kind not in ("not answerable", "error") else "-",
                          _ms(cold.get("p50")) if isinstance(cold, dict) else "-",
                          _ms(warm.get("p50")) if isinstance(warm, dict) else "-",
                          _ms(warm.get("p99")) if isinstance(warm, dict) else "-", escape(detail))
        table.add_section()
    return table


def unanswerable(run: AnalyticsRun) -> list[tuple[str, str, list[str]]]:
    """(store, reason, the questions it applies to), each reason once."""
    out: dict[tuple[str, str], list[str]] = {}
    for store, checks in run.checks.items():
        for query, check in checks.items():
            if check.kind == "not answerable":
                out.setdefault((store, check.reason), []).append(DESCRIPTIONS[query])
    return [(store, reason, queries) for (store, reason), queries in out.items()]


def print_analytics(ctx: RunContext, run: AnalyticsRun) -> None:
    if not run.checks:
        return
    console.print(analytics_table(ctx, run))
    for store, indexes in run.indexes.items():
        console.print(f"  indexes for the query set, {store}: {escape('; '.join(indexes))}")
    for store, reason, queries in unanswerable(run):
        console.print(f"  not answerable from {store}'s model ({', '.join(queries)}): {escape(reason)}")
