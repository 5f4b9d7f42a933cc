"""The read-path tables of a run for report.html, from its summary.json: analytics answers, cache policies."""

from __future__ import annotations

from typing import Any

from sandbox.report.table_data import Cell, TableData, ms, pct


def analytics(summary: dict[str, Any]) -> TableData | None:
    a = summary.get("analytics")
    if not a:
        return None
    t = TableData("analytics", f"analytics: {a['loaded_orders']:,} orders, answers compared with PostgreSQL's "
                  f"(ms; cold = first execution, warm = {a['repeats']} repeats)",
                  ["question", "store", "answer", "rows", "cold", "warm p50", "warm p99", "detail"])
    questions = list(next(iter(a["stores"].values()), {}))
    for query in questions:
        for i, (store, answers) in enumerate(a["stores"].items()):
            c = answers[query]
            cold, warm = c.get("cold_ms") or {}, c.get("warm_ms") or {}
            unanswered = c["kind"] in ("not answerable", "error")
            t.add(query if i == 0 else "", store, Cell(c["kind"], bad=c["kind"] in ("differs", "error")),
                  "-" if unanswered else c["rows"], ms(cold.get("p50")), ms(warm.get("p50")), ms(warm.get("p99")),
                  c["reason"] or "; ".join(c["examples"]) or c["how"])
    t.notes += [f"indexes, {store}: {'; '.join(idx)}" for store, idx in a.get("indexes", {}).items()]
    return t


def cache_aside(summary: dict[str, Any]) -> list[TableData]:
    policies = summary.get("cache_aside") or []
    if not policies:
        return []
    t = TableData("cache-aside", "cache-aside: Redis in front of PostgreSQL",
                  ["policy", "reads", "hit ratio", "stale reads", "origin loads", "hot key loads/refill",
                   "origin q/s", "pg xact/s", "writes"])
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
