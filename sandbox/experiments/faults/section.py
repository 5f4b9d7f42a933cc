"""Faults in report.html and the selection matrix, from summary.json: the faults injected, every check, the
visibility lag."""

from __future__ import annotations

from typing import Any

from sandbox.report import folder as rf
from sandbox.report.folder import FINDING_COUNTS, findings
from sandbox.report.table_data import Cell, TableData, count, ms


def _s(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _window(w: dict[str, Any]) -> str:
    rate = "-" if w.get("ack_per_s") is None else f"{w['ack_per_s']:,.0f}"
    lost = [f"{w[k]} {k}" for k in ("refused", "failed", "unknown") if w.get(k)]
    return f"{rate}/s p99 {ms(w.get('p99_ms'))}" + (f" ({', '.join(lost)})" if lost else "")


def recovery(summary: dict[str, Any]) -> TableData | None:
    """Per store: how long the outage took to notice, to come back, to take a write again; writes around it."""
    stores = summary.get("recovery") or {}
    if not stores:
        return None
    t = TableData("recovery", "recovery (seconds from the restart issued; writes acknowledged per second and their "
                  "p99 ms before the fault, from it to the first ack after the restart, and after)",
                  ["store", "fault", "noticed", "down", "server up", "reconnected", "first ack", "before",
                   "during", "after"])
    for name, r in stores.items():
        faulted = r.get("faulted")
        first = r.get("first_ack_after_s")
        t.add(name, f"{r['fault']}/{r.get('back') or '-'}" if faulted else "(not faulted)",
              _s(r.get("noticed_after_s")), _s(r.get("down_for_s")), _s(r.get("server_back_after_s")),
              _s(r.get("reconnected_after_s")),
              (Cell(_s(first)) if first is not None else Cell("never", bad=True)) if faulted else "-",
              _window(r["before"]), _window(r["during"]), _window(r["after"]))
        if faulted and r.get("note"):
            t.notes.append(f"{name}: {r['note']}.")
        if faulted and r.get("errors_after_restart"):
            t.notes.append(f"{name} after its restart: " + "; ".join(r["errors_after_restart"][:2]))
    t.notes.append("Refused: the connection was refused before anything was sent, a definite failure (counted "
                   "failed); unknown: cut after sending, or no answer in time.")
    return t


def faults(summary: dict[str, Any]) -> list[TableData]:
    out = []
    if summary.get("faults"):
        t = TableData("faults", "faults injected (seconds after the schedule started)",
                      ["t (s)", "store", "action", "scheduled", "what was done"])
        for f in summary["faults"]:
            t.add(f"{f['t_s']:.2f}", f["store"], f["action"], f["when"], f["detail"])
        out.append(t)
    if (r := recovery(summary)) is not None:
        out.append(r)
    for i, report in enumerate((summary.get("check") or {}).get("reports", [])):
        verdicts = sorted({v for s in report["stores"].values() for v in s.get("counts", {})})
        t = TableData(f"check-{i}", f"check {report['label']}: every root instance per store, against what the "
                      "client was told", ["store", *verdicts, "verdict"])
        for name, s in report["stores"].items():
            if s.get("error"):
                t.add(name, *["-"] * len(verdicts), Cell(f"NOT CHECKED: {s['error']}", bad=True))
                continue
            found = findings(s)
            t.add(name, *(count(s["counts"].get(v, 0)) if v in FINDING_COUNTS else s["counts"].get(v, 0)
                          for v in verdicts),
                  Cell("findings: " + ", ".join(found), bad=True) if found else Cell("clean"))
        out.append(t)
    if summary.get("visibility"):
        t = TableData("visibility", "visibility lag (acknowledgement -> first probe that found it)",
                      ["store", "server", "sampled", "at 1st probe", "never seen", "p50 ms", "p99 ms", "max ms",
                       "verdict"])
        for name, v in summary["visibility"].items():
            lag = v.get("lag_ms") or {}
            t.add(name, v.get("server"), v.get("sampled"), v.get("visible_at_first_probe"),
                  count(v.get("never_visible")), ms(lag.get("p50")), ms(lag.get("p99")), ms(lag.get("max")),
                  v.get("verdict"))
        out.append(t)
    return out


def matrix(s: dict[str, Any], rid: str) -> list[tuple[str, str, str]]:
    """(store, criterion, text): what a faulted store lost, its visibility lag, which faults it had."""
    out = []
    reports = (s.get("check") or {}).get("reports", [])
    faulted: dict[str, str] = {}
    for f in s.get("faults") or []:
        faulted[f["store"]] = f"{faulted[f['store']]}/{f['action']}" if f["store"] in faulted else f["action"]
    if reports and faulted:
        for name, c in reports[-1]["stores"].items():
            if name in faulted:
                lost = c.get("counts", {}).get("lost", 0)
                out.append((name, "consistency", f"under {faulted[name]}: {lost} acknowledged writes lost, "
                            f"findings: {', '.join(rf.findings(c)) or 'none'} (run {rid})"))
    for name, v in (s.get("visibility") or {}).items():
        if v.get("lag_ms"):
            out.append((name, "operational notes", f"visibility lag p99 {ms(v['lag_ms'].get('p99'))} ms on the "
                        f"reader's query path (run {rid})"))
    out += [(name, "operational notes", f"{f} injected in run {rid}: see that run's check table")
            for name, f in faulted.items()]
    return out


def states(s: dict[str, Any]) -> list[tuple[str, str]]:
    return [(name, f"check {report['label']}: {', '.join(found)}")
            for report in (s.get("check") or {}).get("reports", [])
            for name, c in report["stores"].items() if (found := findings(c))]
