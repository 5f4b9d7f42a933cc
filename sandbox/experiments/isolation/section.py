"""The isolation table in report.html, and its cells of `sandbox recommend`, from summary.json `isolation`."""

from __future__ import annotations

from typing import Any

from sandbox.report.table_data import Cell, TableData


def _text(found: dict[str, int]) -> str:
    return ", ".join(f"{k} {n:,}" for k, n in found.items()) or "none"


def table(summary: dict[str, Any]) -> TableData | None:
    iso = summary.get("isolation")
    if not iso or not (iso.get("rows") or iso.get("left_out")):
        return None
    w = iso.get("workload") or {}
    t = TableData("isolation", f"transactional histories checked for isolation anomalies ({w.get('model')}, "
                  f"{w.get('keys')} hot keys, x{w.get('concurrency')} clients)",
                  ["store", "level", "promises", "transactions", "aborted", "unknown", "ok/s", "anomalies found",
                   "example cycle"])
    for r in iso.get("rows", []):
        c = r["txns"]
        example = "; ".join(f"{k}: {v}" for k, v in r["examples"].items()) or "-"
        t.add(r["store"], r["level"], r["promise"], c["total"], c["fail"], c["info"], round(r["ok_per_s"]),
              Cell(_text(r["anomalies"]) + (f" (forbidden: {', '.join(r['broken'])})" if r["broken"] else ""),
                   bad=bool(r["broken"])), example)
    for store, why in (iso.get("left_out") or {}).items():
        t.notes.append(f"{store}: left out: {why}")
    t.notes.append("a level's promise forbids classes per docs/isolation.md; aborted = refused by the store "
                   "(serialization failures, write conflicts, WATCH), never retried")
    return t


def matrix(summary: dict[str, Any], rid: str) -> list[tuple[str, str, str]]:
    iso = summary.get("isolation") or {}
    out = [(r["store"], "consistency", f"transactions at {r['level']} ({r['promise']}): anomalies "
            f"{_text(r['anomalies'])}, {r['txns']['fail']:,} of {r['txns']['total']:,} aborted, "
            f"{r['ok_per_s']:,.0f} ok/s (run {rid})") for r in iso.get("rows", [])]
    return out + [(store, "consistency", f"multi-key transactions: none ({why}; run {rid})")
                  for store, why in (iso.get("left_out") or {}).items()]
