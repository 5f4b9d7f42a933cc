"""The core experiment in report.html, from summary.json: every store's read-back."""

from __future__ import annotations

from typing import Any

from sandbox.report.table_data import Cell, TableData, count


def consistency(summary: dict[str, Any]) -> TableData | None:
    stores = {n: s["consistency"] for n, s in summary.get("stores", {}).items() if s.get("consistency")}
    if not stores:
        return None
    t = TableData("consistency", "consistency (every order read back and compared with what was sent)",
                  ["store", "held", "missing", "extra", "differ", "fields compared", "money", "aggregates",
                   "verdict"])
    for name, c in stores.items():
        mismatched = [a for a in c.get("aggregates", []) if a["kind"] == "mismatch"]
        aggs = Cell(", ".join(f"{a['status']}: {a['count']}/{a['revenue']} vs {a['expected_count']}/"
                              f"{a['expected_revenue']}" for a in mismatched[:2]), bad=True) if mismatched else \
            Cell(f"ok, float drift {float(c.get('revenue_drift', 0)):+.2E}" if any(
                a["kind"] == "drift" for a in c.get("aggregates", [])) else "ok (exact)")
        verdict = Cell("consistent") if c.get("consistent") else \
            Cell("INCONSISTENT" + (f": {c['error']}" if c.get("error") else ""), bad=True)
        t.add(name, c.get("held"), count(c.get("missing")), count(c.get("extra")), count(c.get("differing")),
              ", ".join(c.get("fields_compared") or []) or "-", summary["stores"][name].get("money"), aggs, verdict)
    return t
