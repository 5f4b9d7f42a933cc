"""The footprint's rows as plain cells, from summary.json `footprint` (the terminal and report.html both draw
them): one row per store and size, one fit row per store."""

from __future__ import annotations

from typing import Any

from sandbox.report.table_data import TableData


def human(n: float | None) -> str:
    if n is None:
        return "-"
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if abs(n) >= size:
            return f"{n / size:.2f} {unit}"
    return f"{n:.0f} B"


def _indexes(reading: dict[str, Any]) -> str:
    ix = reading["index_bytes"]
    if ix is None:
        return "-"
    return human(sum(ix.values())) + (f" ({len(ix)})" if ix else " (inside data)")


def readings(section: dict[str, Any]) -> TableData:
    t = TableData("footprint-readings", "footprint: what each server says the run's data takes, per size",
                  ["store", "roots", "data", "indexes (n)", "held", "log Δ", "memory Δ"])
    for name, s in section["stores"].items():
        first = s["readings"][0] if s["readings"] else None
        for i, r in enumerate(s["readings"]):
            log = None if first is None or r["log_bytes"] is None or first["log_bytes"] is None \
                else r["log_bytes"] - first["log_bytes"]
            mem = None if first is None or r["memory_bytes"] is None or first["memory_bytes"] is None \
                else r["memory_bytes"] - first["memory_bytes"]
            t.add(name if i == 0 else "", r["roots"], human(r["data_bytes"]), _indexes(r), human(r["held_bytes"]),
                  human(log) if i else "-", human(mem) if i else "-")
    return t


def fits(section: dict[str, Any]) -> TableData:
    t = TableData("footprint-fit", "footprint: held bytes = fixed + per root x roots (least squares), and the log",
                  ["store", "server", "fixed", "B / root", "residual", "log B / write", "mem B / root"])
    for name, s in section["stores"].items():
        f = s["fit"]
        t.add(name, s["server"], human(f["fixed_bytes"]) if f else "-", f"{f['per_entity_bytes']:.0f}" if f else "-",
              human(f["residual_bytes"]) if f else "-",
              "-" if s["log_bytes_per_write"] is None else f"{s['log_bytes_per_write']:.0f}",
              "-" if s["memory_bytes_per_root"] is None else f"{s['memory_bytes_per_root']:.0f}")
    for name, s in section["stores"].items():
        t.notes.append(f"{name}: {s['source']}; log {s['log_scope']}")
        t.notes += [f"{name}: not measured: {u}" for u in s["unavailable"][:2]]
        if len(s["unavailable"]) > 2:
            t.notes.append(f"{name}: ... and {len(s['unavailable']) - 2} more such figure(s) not given")
    t.notes += [f"{name}: not measured: {why}" for name, why in section.get("not_measured", {}).items()]
    t.notes.append("a stand-in's figures are the stand-in's (server column); a root counts with its owned children")
    return t


def count(n: int) -> str:
    for unit, size in (("B", 10**9), ("M", 10**6), ("k", 10**3)):
        if n >= size and n % (size // 1000 or 1) == 0:
            return f"{n / size:g}{unit}"
    return f"{n:,}"


def projection(section: dict[str, Any]) -> TableData | None:
    p = section.get("projection")
    if not p:
        return None
    prices, cur = p["prices"], p["currency"]
    t = TableData("footprint-projection",
                  f"footprint projected: {count(p['entities'])} roots now, {count(p['horizon_entities'])} at the "
                  f"horizon ({p['input']}); prices of {prices['date']}",
                  ["store", "server", "held in", "now", f"{cur} / month now", "at horizon",
                   f"{cur} / month at horizon", "log / month"])
    for name, s in p["stores"].items():
        t.add(name, s["server"], s["tier"], human(s["bytes_now"]), s["monthly_cost_now"],
              human(s["bytes_at_horizon"]), s["monthly_cost_at_horizon"], human(s["log_bytes_per_month"]))
    per_gb = "; ".join(f"{v['tier']} {v['price']}" for v in prices["per_gb_month"].values())
    t.notes.append(f"prices: {prices['file']} of {prices['date']} ({cur} per GB-month: {per_gb}; a priced GB = "
                   f"{prices['gb_bytes']:,} bytes, sizes shown in GB of 10^9): {prices['source']}")
    t.notes.append("held bytes = the fit's fixed + B/root x roots, one copy; not counted: " + p["left_out"])
    t.notes += [f"{name}: not projected: {why}" for name, why in p["not_projected"].items()]
    return t


def _pair(tm: dict[str, Any], key: str) -> str:
    w, wo = tm.get("with_ms"), tm.get("without_ms")
    if key == "queries":
        return f"{w[key]} / {wo[key]}" if w and wo else "-"
    return f"{w[key]:.2f} / {wo[key]:.2f}" if w and wo else f"{w[key]:.2f} / -" if w else "-"


def index_cost(section: dict[str, Any]) -> TableData | None:
    stores = section.get("index_cost") or {}
    if not stores and not section.get("index_cost_missing"):
        return None
    t = TableData("footprint-index-cost", "index cost: each pattern's latency with its index / without it "
                  "(dropped, timed, rebuilt), one query at a time",
                  ["store", "index", "size", "scans", "pattern", "p50 ms with / without", "p99 ms with / without",
                   "calls", "rebuild s"])
    sources: dict[str, str] = {}
    for name, s in stores.items():
        first = True
        sources[name] = s["usage_source"]
        for ix in (x for x in s["indexes"] if x["patterns"]):
            for i, (pattern, tm) in enumerate(ix["patterns"].items()):
                scans = "not counted" if ix["scans"] is None else str(ix["scans"])
                head = [name if first else "", ix["index"], human(ix["bytes"]), scans] if i == 0 \
                    else ["", "", "", ""]
                t.add(*head, pattern, _pair(tm, "p50"), _pair(tm, "p99"), _pair(tm, "queries"),
                      "-" if ix["rebuild_s"] is None or i else f"{ix['rebuild_s']:.2f}")
                first = False
        enforcing = {x["index"] for x in s["indexes"] if x["enforces"]}
        unused = [f"{u} ({human(next(x['bytes'] for x in s['indexes'] if x['index'] == u))})"
                  for u in s["unused"] if u not in enforcing]
        keys = [u for u in s["unused"] if u in enforcing]
        t.notes.append(f"{name}: UNUSED (no scan during the run): {', '.join(unused) or 'none'}"
                       + (f"; unscanned but enforcing a key or unique constraint: {', '.join(keys)}" if keys else ""))
        if s.get("uncounted"):
            t.notes.append(f"{name}: the server ({s.get('server', '?')}) keeps no scan count for "
                           f"{len(s['uncounted'])} index(es): their use cannot be checked here")
        t.notes += [f"{name}: {what} not timed: {why}" for what, why in s["not_timed"].items()]
    t.notes += [f"{name}: index cost not measured: {why}"
                for name, why in section.get("index_cost_missing", {}).items()]
    for text in dict.fromkeys(sources.values()):
        t.notes.append(f"scans ({', '.join(n for n, v in sources.items() if v == text)}): {text}")
    if stores:
        t.notes.append("size: the footprint reading's figure at the end of the run; calls: how many each percentile "
                       "is from (a condition stops at its time budget); a stand-in's figures are the stand-in's")
    return t
