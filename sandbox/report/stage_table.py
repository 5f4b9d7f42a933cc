"""report.html's table of the load stages: per stage, store and operation, the rate asked for and reached
and the latency of the seconds in that stage (from the run's .hlog intervals, added exactly)."""

from __future__ import annotations

from pathlib import Path

from sandbox.report import folder as rf
from sandbox.report import windows
from sandbox.report.table_data import TableData, ms


def stage_table(path: Path) -> TableData | None:
    marks = rf.stage_marks(path)
    if not marks:
        return None
    rows = rf.timeline(path)
    t = TableData("stages", "load stages (open loop): the rate asked for and reached, latency of the seconds "
                  "in each stage", ["phase", "stage", "s", "store", "op", "intended ops/s", "reached ops/s", "p50",
                                    "p99", "max"])
    logs = {key: windows.intervals(log) for key, log in windows.response_logs(path).items()}
    for mark in marks:
        span = mark.wall_end - mark.wall_start
        for (store, op), items in logs.items():
            seconds = [r for r in rows if r["phase"] == mark.phase and r["store"] == store and r["op"] == op]
            if not seconds:
                continue
            inside = [i for i in items if mark.wall_start <= i.middle < mark.wall_end]
            if not inside:
                continue
            hist = windows.added(inside)
            mine = [r for r in seconds if mark.wall_start <= (r["wall_clock"] or 0) - (r["span_s"] or 1) / 2
                    < mark.wall_end]
            reached = sum(r["ops"] or 0 for r in mine) / sum(r["span_s"] or 1 for r in mine) if mine else None
            t.add(mark.phase, mark.stage, f"{span:g}", store, op,
                  f"{mark.due / span:,.0f}" if mark.due is not None and span > 0 else "-",
                  "-" if reached is None else f"{reached:,.0f}", ms(windows.p(hist, 50)), ms(windows.p(hist, 99)),
                  ms(hist.get_max_value() / 1000 if hist.get_total_count() else None))
    t.notes.append("a second belongs to the stage its middle falls in; latency is response time from each "
                   "operation's intended start, so a stage the store could not keep up with shows its queueing")
    return t
