"""The analytics answers in report.html, from summary.json."""

from __future__ import annotations

from typing import Any

from sandbox.report.table_data import Cell, TableData, ms


def analytics(summary: dict[str, Any]) -> TableData | None:
    a = summary.get("analytics")
    if not a:
        return None
    reference = a.get("reference") or "the reference"
    t = TableData("analytics", f"analytics: {a['loaded_orders']:,} orders, answers compared with {reference}'s "
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
