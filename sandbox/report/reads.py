"""Tables for the read paths: the analytics query set per store, and the cache-aside policies."""

from __future__ import annotations

from rich.markup import escape
from rich.table import Table

from sandbox.measure.analytics_run import AnalyticsRun
from sandbox.measure.latency import summarize
from sandbox.report.console import console
from sandbox.report.table_data import pct
from sandbox.scenario.context import RunContext
from sandbox.stores.analytics import DESCRIPTIONS, Query
from sandbox.strategies.cache.mix import PolicyOutcome

VERDICT = {"agrees": "[green]agrees[/]", "reference": "reference", "drift": "[yellow]drift[/]",
           "differs": "[red]DIFFERS[/]", "error": "[red]error[/]", "not answerable": "[dim]not answerable[/]"}


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}" if value < 100 else f"{value:,.0f}"


def analytics_table(ctx: RunContext, run: AnalyticsRun) -> Table:
    table = Table(title=f"analytics: {run.loaded:,} orders, each store in its own query language, answers compared "
                        f"with PostgreSQL's (ms, HdrHistogram; cold = first execution, warm = {run.repeats} repeats)")
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


def cache_table(outcomes: list[PolicyOutcome]) -> Table:
    table = Table(title="cache-aside: Redis in front of PostgreSQL (hit = answered by the cache without this reader "
                        "loading the origin; stale = older version than PostgreSQL had acknowledged when the read "
                        "began)")
    for col in ("policy", "reads", "hit ratio", "stale reads", "origin loads", "hot key loads/refill",
                "hit p50", "hit p99", "miss p50", "miss p99", "origin q/s", "pg xact/s", "writes"):
        table.add_column(col, justify="left" if col == "policy" else "right")
    for o in outcomes:
        hits, misses = summarize(o.merged("hit", "waited")), summarize(o.merged("miss", "early", "fallback"))
        hot = o.hot_episodes
        per = f"{sum(hot) / len(hot):.1f} (max {max(hot)}, n={len(hot)})" if hot else "-"
        table.add_row(o.policy, f"{o.reads:,}", pct(o.hit_ratio), pct(o.stale_rate), f"{o.origin_loads:,}", per,
                      _ms(hits["p50"]), _ms(hits["p99"]), _ms(misses["p50"]), _ms(misses["p99"]),
                      f"{(o.origin_loads + o.writes) / o.elapsed_s:,.0f}",
                      "-" if o.xact is None else f"{o.xact / o.elapsed_s:,.0f}", f"{o.writes:,}")
    return table


def outage_table(outcome: PolicyOutcome) -> Table:
    table = Table(title=f"cache outage, {outcome.policy}: reads per second (fallback = Redis did not answer, read "
                        "from PostgreSQL)")
    for col in ("s", "reads", "hit ratio", "fallbacks", "origin loads", "read p50", "read p99", "event"):
        table.add_column(col, justify="left" if col == "event" else "right")
    for s in outcome.timeline:
        table.add_row(str(s.t), f"{s.reads:,}", pct(s.hits / s.reads if s.reads else None), f"{s.fallbacks:,}",
                      f"{s.origin_loads:,}", _ms(s.p50_ms), _ms(s.p99_ms), escape(s.event))
    return table


def unanswerable(run: AnalyticsRun) -> list[tuple[str, str, list[str]]]:
    """(store, reason, the questions it applies to), each reason once."""
    out: dict[tuple[str, str], list[str]] = {}
    for store, checks in run.checks.items():
        for query, check in checks.items():
            if check.kind == "not answerable":
                out.setdefault((store, check.reason), []).append(DESCRIPTIONS[query])
    return [(store, reason, queries) for (store, reason), queries in out.items()]


def print_reads(ctx: RunContext) -> None:
    if ctx.analytics is not None and ctx.analytics.checks:
        console.print(analytics_table(ctx, ctx.analytics))
        for store, indexes in ctx.analytics.indexes.items():
            console.print(f"  indexes for the query set, {store}: {escape('; '.join(indexes))}")
        for store, reason, queries in unanswerable(ctx.analytics):
            console.print(f"  not answerable from {store}'s model ({', '.join(queries)}): {escape(reason)}")
    if ctx.cache:
        console.print(cache_table(ctx.cache))
        for o in ctx.cache:
            if o.timeline:
                console.print(outage_table(o))
            for label, stats in o.timer.stats.items():
                for err in stats.first_errors:
                    console.print(f"  {o.policy} {label} error: {escape(err)}")
        console.print("  policies: " + "; ".join(f"{o.policy}: {o.description}" for o in ctx.cache
                                                 if not o.timeline))
