"""The cache-aside policies in report.html, from summary.json."""

from __future__ import annotations

from typing import Any

from sandbox.report.table_data import TableData, ms, pct


def cache_aside(summary: dict[str, Any]) -> list[TableData]:
    policies = summary.get("cache_aside") or []
    if not policies:
        return []
    t = TableData("cache-aside", "cache-aside: the cache in front of the origin",
                  ["policy", "reads", "hit ratio", "stale reads", "origin loads", "hot key loads/refill",
                   "origin q/s", "origin xact/s", "writes"])
    out = [t]
    for p in policies:
        hot = p["hot_key_loads_per_expiry"]
        xact = p["pg_transactions"]
        t.add(p["policy"], f"{p['reads']:,}", pct(p["hit_ratio"]), pct(p["stale_rate"]), p["origin_loads"],
              f"{sum(hot) / len(hot):.1f} (max {max(hot)})" if hot else "-", p["origin_queries_per_s"],
              "-" if xact is None else f"{xact / p['elapsed_s']:,.0f}", p["writes"])
        if p["timeline"]:
            s = TableData(f"outage-{len(out)}", f"cache outage, {p['policy']}: reads per second",
                          ["s", "reads", "hits", "fallbacks", "origin loads", "read p50", "read p99", "event"])
            for row in p["timeline"]:
                s.add(row["t"], row["reads"], row["hits"], row["fallbacks"], row["origin_loads"], ms(row["p50_ms"]),
                      ms(row["p99_ms"]), row["event"])
            out.append(s)
    return out
