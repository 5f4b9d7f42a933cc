"""The tables of a run, built from its summary.json: what the terminal shows, as rows of plain cells.

The HTML report renders these; building them from the JSON (not from the live run) is what lets
`sandbox report` redraw any older results folder.
"""

from __future__ import annotations

from typing import Any

from sandbox.report import durability, read_sections, server_sections
from sandbox.report.folder import FINDING_COUNTS, findings, stand_in_answered
from sandbox.report.table_data import Cell, TableData, count, ms


def latency(summary: dict[str, Any]) -> TableData:
    t = TableData("latency", "latency (ms, HdrHistogram): response time from each operation's intended start",
                  ["store", "server (as reported)", "op", "ok", "failed", "unknown", "orders/s", "p50", "p90", "p99",
                   "p99.9", "max"])
    for name, s in summary.get("stores", {}).items():
        server = s.get("server") or {}
        for i, (op, o) in enumerate(s.get("operations", {}).items()):
            lat = o.get("latency_ms") or {}
            rate = o.get("throughput_orders_s")
            t.add(name if i == 0 else "", f"{server.get('product')} {server.get('version')}" if i == 0 else "",
                  op, o.get("ok"), count(o.get("failed")), count(o.get("unknown")),
                  "-" if rate is None else f"{rate:,.0f}", *(ms(lat.get(k)) for k in ("p50", "p90", "p99", "p99.9",
                                                                                       "max")))
    if stand_ins := stand_in_answered(summary):
        t.notes.append(f"stand-ins answered for {', '.join(stand_ins)}: their numbers are the stand-ins', "
                       "not the products'.")
    return t


def client_side(summary: dict[str, Any]) -> TableData:
    t = TableData("client", "service and processing time, and the client's own load",
                  ["store", "op", "svc p50", "svc p99", "proc p50", "proc p99", "client cpu", "host cpu", "flags"])
    for name, s in summary.get("stores", {}).items():
        for op, o in s.get("operations", {}).items():
            svc, proc, client = o.get("service_ms") or {}, o.get("processing_ms") or {}, o.get("client") or {}
            cpu, host = client.get("cpu_core_share"), client.get("host_cpu_share")
            t.add(name, op, ms(svc.get("p50")), ms(svc.get("p99")), ms(proc.get("p50")), ms(proc.get("p99")),
                  "-" if cpu is None else f"{cpu:.0%}", "-" if host is None else f"{host:.0%}",
                  Cell(", ".join(o.get("flags") or []) or "-", bad=bool(o.get("flags"))))
    return t


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


def faults(summary: dict[str, Any]) -> list[TableData]:
    out = []
    if summary.get("faults"):
        t = TableData("faults", "faults injected (seconds after the schedule started)",
                      ["t (s)", "store", "action", "scheduled", "what was done"])
        for f in summary["faults"]:
            t.add(f"{f['t_s']:.2f}", f["store"], f["action"], f["when"], f["detail"])
        out.append(t)
    for i, report in enumerate((summary.get("check") or {}).get("reports", [])):
        verdicts = sorted({v for s in report["stores"].values() for v in s.get("counts", {})})
        t = TableData(f"check-{i}", f"check {report['label']}: every order per store, against what the client "
                      "was told", ["store", *verdicts, "verdict"])
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
    if summary.get("durability"):
        out.append(durability.table(summary["durability"]))
    return out


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
        if o.get("finding"):
            t.notes.append(f"{o['strategy']} broke its promise to converge: {o['finding']}")
    return t


def replicas(summary: dict[str, Any]) -> list[TableData]:
    """The replicas scenario: each guarantee's cost and stale reads; faults on replicas (docs/replicas.md)."""
    state = summary.get("replicas") or {}
    out = []
    if state.get("guarantees"):
        t = TableData("replicas", "read replicas: each guarantee's write cost beside what a reader of the replica saw",
                      ["store", "guarantee", "write p50/p99 ms", "stale read-your-writes", "lag p99/max ms",
                       "monotonic violations", "server lag median/max"])
        for g in state["guarantees"]:
            w, lag, server = g["write_ms"], g["lag_ms"], g["server_lag"]
            replay, behind = server.get("replay_s"), server.get("lag_bytes")
            told = [f"replay {ms(replay['median'] * 1000)}/{ms(replay['max'] * 1000)} ms" if replay else "",
                    f"{behind['median'] / 1024:,.1f}/{behind['max'] / 1024:,.1f} KiB" if behind else ""]
            t.add(g["store"], g["guarantee"], f"{ms(w.get('p50'))}/{ms(w.get('p99'))}",
                  f"{g['stale_read_your_writes']}/{g['markers']}", f"{ms(lag.get('p99'))}/{ms(lag.get('max'))}",
                  count(g["monotonic_violations"]), ", ".join(x for x in told if x) or "-")
        t.notes += [f"{store}: {why}" for store, why in (state.get("without_replicas") or {}).items()]
        out.append(t)
    if state.get("faults"):
        t = TableData("replica-faults", "faults on replicas",
                      ["store", "fault", "guarantee", "lag max s", "recovery s", "replica reads failed (fell back)",
                       "acknowledged", "lost on the promoted node", "other verdicts"])
        for f in state["faults"]:
            reads, counts = f.get("reads") or {}, (f.get("check") or {}).get("counts") or {}
            lag_max = (reads.get("lag_ms") or {}).get("max")
            t.add(f["store"], f"{f['action']} {f['seconds']:g} s", f["guarantee"],
                  "-" if lag_max is None else f"{lag_max / 1000:.2f}",
                  "-" if f.get("recovery_s") is None else f"{f['recovery_s']:.2f}",
                  f"{reads['replica_read_errors']} ({reads['fallback_reads']})" if reads else "-",
                  f["acknowledged"] if f["action"] == "promote" else "-",
                  count(counts.get("lost")) if counts else "-",
                  ", ".join(f"{n} {k}" for k, n in counts.items() if n and k not in ("ok", "lost", "not_attempted"))
                  or "-")
        out.append(t)
    return out


def manifest(summary: dict[str, Any]) -> TableData:
    env = summary.get("environment") or {}
    client = summary.get("client") or {}
    t = TableData("manifest", "environment manifest", ["item", "value"])
    t.add("run id", summary.get("run_id"))
    t.add("scenario", f"{summary.get('scenario')} (phases: {', '.join(summary.get('phases', []))})")
    t.add("command to reproduce", env.get("command") or f"sandbox run {summary.get('scenario')} --seed "
          f"{summary.get('seed')} (this folder predates the recorded command line)")
    t.add("seed", summary.get("seed"))
    t.add("backend", summary.get("backend"))
    t.add("cores", env.get("cores"))
    memory = env.get("memory_bytes")
    t.add("memory", "-" if memory is None else f"{memory / 2**30:.1f} GiB")
    t.add("OS", env.get("os") or client.get("platform"))
    t.add("Python", env.get("python") or client.get("python"))
    libs = env.get("libraries") or client.get("libraries") or {}
    t.add("client libraries", ", ".join(f"{k} {v}" for k, v in libs.items() if v))
    params = summary.get("params") or {}
    t.add("parameters", ", ".join(f"{k}={v}" for k, v in params.items() if v not in (None, [], "")))
    for name, s in summary.get("stores", {}).items():
        server = s.get("server") or {}
        settings = ", ".join(f"{k}={v}" for k, v in (server.get("settings") or {}).items())
        t.add(f"server: {name}", f"{server.get('product')} {server.get('version')} ({server.get('detail')}) at "
              f"{s.get('endpoint')}" + (f"; reports {settings}" if settings else ""))
    flags = {f"{store} {op}": fl for store, ops in (summary.get("measurement_flags") or {}).items()
             for op, fl in ops.items() if fl}
    t.add("measurement flags", Cell("; ".join(f"{k}: {', '.join(v)}" for k, v in flags.items()), bad=True)
          if flags else "none (the client kept up)")
    if stand_ins := stand_in_answered(summary):
        t.add("stand-ins", Cell(f"{', '.join(stand_ins)} answered by stand-ins (see their servers above): "
                                "their numbers are the stand-ins', not MongoDB's or Elasticsearch's", bad=True))
    for note in summary.get("notes") or []:
        t.add("note", note)
    return t


def run_tables(summary: dict[str, Any]) -> list[TableData]:
    """Every table of one run, in the terminal's order."""
    out: list[TableData | None] = [strategies(summary)]
    if any(s.get("operations") for s in summary.get("stores", {}).values()):
        out += [latency(summary), client_side(summary)]
    out += [consistency(summary), *faults(summary), *replicas(summary), read_sections.analytics(summary),
            *read_sections.cache_aside(summary)]
    out += [server_sections.migration(summary), *server_sections.server_stats(summary)]
    return [t for t in out if t is not None]
