"""The cache-aside policies on the terminal: side by side, then the outage run second by second."""

from __future__ import annotations

from rich.markup import escape
from rich.table import Table

from sandbox.experiments.cache_aside.mix import PolicyOutcome
from sandbox.measure.latency import summarize
from sandbox.report.console import console
from sandbox.report.table_data import pct


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}" if value < 100 else f"{value:,.0f}"


def cache_table(outcomes: list[PolicyOutcome]) -> Table:
    table = Table(title="cache-aside: the cache in front of the origin (hit = answered by the cache without this "
                        "reader loading the origin; stale = older version than the origin had acknowledged when the "
                        "read began)")
    for col in ("policy", "reads", "hit ratio", "stale reads", "origin loads", "hot key loads/refill",
                "hit p50", "hit p99", "miss p50", "miss p99", "origin q/s", "origin xact/s", "writes"):
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
    table = Table(title=f"cache outage, {outcome.policy}: reads per second (fallback = the cache did not answer, "
                        "read from the origin)")
    for col in ("s", "reads", "hit ratio", "fallbacks", "origin loads", "read p50", "read p99", "event"):
        table.add_column(col, justify="left" if col == "event" else "right")
    for s in outcome.timeline:
        table.add_row(str(s.t), f"{s.reads:,}", pct(s.hits / s.reads if s.reads else None), f"{s.fallbacks:,}",
                      f"{s.origin_loads:,}", _ms(s.p50_ms), _ms(s.p99_ms), escape(s.event))
    return table


def print_cache(outcomes: list[PolicyOutcome]) -> None:
    if not outcomes:
        return
    console.print(cache_table(outcomes))
    for o in outcomes:
        if o.timeline:
            console.print(outage_table(o))
        for label, stats in o.timer.stats.items():
            for err in stats.first_errors:
                console.print(f"  {o.policy} {label} error: {escape(err)}")
    console.print("  policies: " + "; ".join(f"{o.policy}: {o.description}" for o in outcomes if not o.timeline))
