"""The write strategies in report.html, from summary.json."""

from __future__ import annotations

from typing import Any

from sandbox.report.table_data import Cell, TableData, count, ms


def strategies(summary: dict[str, Any]) -> TableData | None:
    if not summary.get("strategies"):
        return None
    t = TableData("strategies", "write strategies under the same workload and fault",
                  ["strategy", "acked", "failed", "write p50", "write p99", "orders/s", "divergent at end",
                   "divergent after recovery", "time to converge", "duplicates", "lost acked"])
    for o in summary["strategies"]:
        lat = (o.get("write_latency") or {}).get("latency_ms") or {}
        end, after = o.get("divergence_at_end") or {}, o.get("divergence_after_recovery") or {}
        converge = f"{o['time_to_converge_s']:.2f} s" if o.get("time_to_converge_s") is not None else \
            Cell("never", bad=True) if not o.get("settled") or after.get("divergent") else "-"
        t.add(o["strategy"], o["acknowledged"], count(o["failed"]), ms(lat.get("p50")), ms(lat.get("p99")),
              o.get("throughput_orders_s"), count(end.get("divergent")), count(after.get("divergent")), converge,
              count(after.get("duplicates")), count(after.get("lost_acknowledged")))
        for store, why in (o.get("left_out") or {}).items():
            t.notes.append(f"{o['strategy']}: {store} left out: {why}")
        if o.get("finding"):
            t.notes.append(f"{o['strategy']} broke its promise to converge: {o['finding']}")
    return t
