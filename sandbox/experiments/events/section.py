"""The events tables (terminal and report.html alike), from summary.json: per trial the hops, the accounting of
every event id, how the sagas ended, and what the faults showed."""

from __future__ import annotations

from typing import Any

from sandbox.report.page import Draw
from sandbox.report.table_data import Cell, TableData, count, ms

HOP_NAMES = {"capture": "commit→captured", "publish": "captured→broker", "deliver": "broker→consumer",
             "apply": "consumer applied", "end_to_end": "commit→applied"}


def _trials(summary: dict[str, Any]) -> list[dict[str, Any]]:
    return list((summary.get("events") or {}).get("trials") or [])


def label(t: dict[str, Any]) -> str:
    return f"{t['broker']} / {t['capture']}" + ("" if t["layout"] == "database-per-service" else f" / {t['layout']}")


def hops_table(trials: list[dict[str, Any]]) -> TableData:
    t = TableData("events-hops", "events: latency per hop (ms, HdrHistogram; order-service events, every group)",
                  ["trial", "hop", "n", "p50", "p90", "p99", "max"])
    for trial in trials:
        for i, (hop, name) in enumerate(HOP_NAMES.items()):
            h = trial["hops"][hop]
            t.add(label(trial) if i == 0 else "", name, h["n"], ms(h["p50"]), ms(h["p90"]), ms(h["p99"]),
                  ms(h["max"]))
    return t


def accounting_table(trials: list[dict[str, Any]]) -> TableData:
    t = TableData("events-accounting", "events: every event id accounted for, per consumer group that should "
                  "apply it", ["trial", "orders", "events/s", "expected", "applied", "duplicated", "dead-lettered",
                               "in flight", "lost", "dup delivered", "dup applied", "order violations",
                               "drain s"])
    for trial in trials:
        r = trial["reconciled"]
        c = r["counts"]
        rate = trial.get("throughput")
        t.add(label(trial), trial["orders"], "-" if rate is None else f"{rate:.0f}", r["expected"],
              c.get("applied", 0), c.get("duplicated", 0), c.get("dead-lettered", 0), c.get("in flight", 0),
              count(c.get("lost", 0)), r["duplicates_delivered"], count(r["duplicates_applied"]) if not
              trial["idempotent"] else r["duplicates_applied"], sum(trial["ordering_violations"].values()),
              "-" if trial["drain_s"] is None else Cell("not settled", bad=True) if not trial["settled"]
              else f"{trial['drain_s']:.2f}")
        for kind in ("lost", "in flight", "duplicated"):
            if r["examples"].get(kind):
                t.notes.append(f"{label(trial)} {kind}: {'; '.join(r['examples'][kind])}")
        if trial["ordering_examples"]:
            t.notes.append(f"{label(trial)} ordering: {'; '.join(trial['ordering_examples'])}")
        idem = "idempotent" if trial["idempotent"] else "NOT idempotent"
        t.notes.append(f"{label(trial)}: {trial['broker_setup']}; {idem} read model; "
                       f"{trial['consumers']} consumer(s) per group")
    return t


def saga_table(trials: list[dict[str, Any]]) -> TableData:
    ends = ("confirmed", "compensated", "rejected", "dead-lettered", "unfinished", "illegal")
    t = TableData("events-sagas", "events: how each order's saga ended (legal: confirmed, compensated, rejected, "
                  "dead-lettered)", ["trial", *ends, "stock conserved", "place p50", "place p99"])
    for trial in trials:
        s = trial["saga"]
        got = s["ends"]
        t.add(label(trial), *(count(got.get(e, 0)) if e in ("unfinished", "illegal") else got.get(e, 0)
                              for e in ends),
              Cell("no", bad=True) if s["stock_mismatches"] else "yes", ms(trial["place_ms"]["p50"]),
              ms(trial["place_ms"]["p99"]))
        for end, shown in s["examples"].items():
            t.notes.append(f"{label(trial)} {end}: {'; '.join(shown)}")
    return t


def faults_table(trials: list[dict[str, Any]]) -> TableData | None:
    rows = [(trial, f) for trial in trials for f in trial.get("faults", [])]
    if not rows:
        return None
    t = TableData("events-faults", "events: faults and what they showed", ["trial", "fault", "what it did",
                                                                          "what it showed"])
    for trial, f in rows:
        t.add(label(trial), f["fault"], f.get("did", ""), f.get("showed", ""))
    return t


def tables(summary: dict[str, Any]) -> list[TableData]:
    trials = _trials(summary)
    if not trials:
        return []
    out = [accounting_table(trials), saga_table(trials), hops_table(trials)]
    if (faults := faults_table(trials)) is not None:
        out.append(faults)
    return out


def events(summary: dict[str, Any], draw: Draw | None) -> dict[str, Any] | None:
    found = tables(summary)
    return {"tables": found} if found else None
