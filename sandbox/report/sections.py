"""The run's own tables, built from its summary.json (latency, client side, manifest), as rows of plain cells;
the experiments build theirs in their folders.

The HTML report renders these; building them from the JSON (not from the live run) is what lets
`sandbox report` redraw any older results folder.
"""

from __future__ import annotations

from typing import Any

from sandbox.report.folder import stand_in_answered
from sandbox.report.table_data import Cell, TableData, count, ms


def latency(summary: dict[str, Any]) -> TableData:
    t = TableData("latency", "latency (ms, HdrHistogram): response time from each operation's intended start",
                  ["store", "server (as reported)", "op", "ok", "failed", "unknown", "orders/s", "p50", "p90", "p99",
                   "p99.9", "max", "server calls/op"])
    for name, s in summary.get("stores", {}).items():
        server = s.get("server") or {}
        calls = s.get("server_calls_per_op") or {}
        for i, (op, o) in enumerate(s.get("operations", {}).items()):
            lat = o.get("latency_ms") or {}
            rate = o.get("throughput_orders_s")
            t.add(name if i == 0 else "", f"{server.get('product')} {server.get('version')}" if i == 0 else "",
                  op, o.get("ok"), count(o.get("failed")), count(o.get("unknown")),
                  "-" if rate is None else f"{rate:,.0f}", *(ms(lat.get(k)) for k in ("p50", "p90", "p99", "p99.9",
                                                                                       "max")),
                  calls_cell(calls.get(op)))
    t.notes += calls_notes({n: s.get("server_calls_per_op") or {} for n, s in summary.get("stores", {}).items()})
    if stand_ins := stand_in_answered(summary):
        t.notes.append(f"stand-ins answered for {', '.join(stand_ins)}: their numbers are the stand-ins', "
                       "not the products'.")
    return t


def calls_cell(calls: dict[str, Any] | None) -> str:
    """Server calls per op of the phase named after the op ("-": no such phase, or the server has no counter)."""
    return "-" if not calls or calls.get("per_op") is None else f"{calls['per_op']:.2f}"


def calls_notes(per_store: dict[str, dict[str, dict[str, Any]]]) -> list[str]:
    """Whose calls each store's column counts, once per store (server-wide counters hold other clients' too)."""
    out = []
    for name, phases in per_store.items():
        scopes = {c.get("scope") or c.get("none_because") for c in phases.values()}
        out += [f"server calls/op, {name}: {scope}" for scope in sorted(x for x in scopes if x)]
    return out


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


def core(summary: dict[str, Any]) -> list[TableData]:
    """The run's own tables (every experiment adds its section after them): latency and the client side."""
    if any(s.get("operations") for s in summary.get("stores", {}).values()):
        return [latency(summary), client_side(summary)]
    return []
