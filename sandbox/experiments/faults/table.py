"""Tables for consistency under faults: faults injected, per-store classification, visibility lag."""

from __future__ import annotations

from rich import box
from rich.markup import escape
from rich.table import Table

from sandbox.experiments.faults.section import recovery
from sandbox.experiments.faults.state import FaultRun
from sandbox.measure.checker import DESCRIPTIONS, FINDINGS, CheckReport, Verdict
from sandbox.measure.latency import summarize
from sandbox.report.console import console, rich_table

COLUMNS = {  # short headers, in the order a reader scans them
    Verdict.OK: "ok", Verdict.LOST: "lost", Verdict.DIVERGENT: "divergent",
    Verdict.FAILED_BUT_PRESENT: "failed but present", Verdict.TIMED_OUT_BUT_PRESENT: "timed out but present",
    Verdict.UNKNOWN_THEN_PRESENT: "unknown -> present", Verdict.UNKNOWN_THEN_ABSENT: "unknown -> absent",
    Verdict.FAILED_AND_ABSENT: "failed, absent", Verdict.NOT_ATTEMPTED: "not attempted",
    Verdict.UNEXPECTED: "unexpected",
}


MAIN_VERDICTS = (Verdict.OK, *FINDINGS)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}" if value < 100 else f"{value:.0f}"


def _cell(verdict: Verdict, n: int) -> str:
    return f"[red]{n}[/]" if n and verdict in FINDINGS else str(n)


def faults_table(state: FaultRun) -> Table:
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, title="faults injected (seconds after the schedule started)")
    for col in ("t (s)", "store", "action", "scheduled", "what was done"):
        table.add_column(col)
    for f in state.applied:
        table.add_row(f"{f.t_s:.2f}", f.store, f.action, f.when, escape(f.detail))
    return table


def check_table(report: CheckReport) -> Table:
    """The findings get a column each; the other outcomes share one cell, so the table fits 100 columns."""
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False,
                  title=f"check {report.label}: every root instance per store, by key, against what the client "
                        "was told")
    table.add_column("store", no_wrap=True)
    for shown in MAIN_VERDICTS:
        table.add_column(COLUMNS[shown], justify="right")
    table.add_column("other outcomes")
    table.add_column("verdict", no_wrap=True)
    for name, s in report.stores.items():
        if s.error:
            table.add_row(name, *["-"] * (len(MAIN_VERDICTS) + 1), f"[red]NOT CHECKED[/]: {escape(s.error)}")
            continue
        verdict = "[red]findings[/]" if s.findings else "[green]clean[/]"
        others = ", ".join(f"{COLUMNS[v]} {s.counts[v]}" for v in COLUMNS if v not in MAIN_VERDICTS and s.counts[v])
        table.add_row(name, *(_cell(v, s.counts[v]) for v in MAIN_VERDICTS), others or "none", verdict)
    return table


def visibility_table(state: FaultRun) -> Table:
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False,
                  title="visibility lag (acknowledgement -> first probe that found it, on the reader's query path)")
    for col in ("store", "sampled", "at 1st probe", "never seen", "p50 ms", "p90 ms", "p99 ms", "max ms", "verdict"):
        table.add_column(col, justify="left" if col in ("store", "verdict") else "right")
    assert state.visibility is not None
    for name, s in state.visibility.stats.items():
        lag = summarize(s.lag) if s.observable else {}
        table.add_row(name, str(s.sampled), str(s.visible_at_first_probe), _cell(Verdict.LOST, s.never_visible),
                      *(_ms(lag.get(k)) for k in ("p50", "p90", "p99", "max")), escape(s.verdict()))
    return table


def print_faults(state: FaultRun) -> None:
    if state.applied:
        console.print(faults_table(state))
    if state.recovery is not None and (table := recovery({"recovery": state.recovery.to_json()})) is not None:
        console.print(rich_table(table))
    if state.check_tables:
        for report in state.checks:
            console.print(check_table(report))
    # Durability trials are many checks: their examples are the findings only (unknowns are expected there).
    shown = (*FINDINGS, Verdict.UNKNOWN_THEN_PRESENT, Verdict.UNKNOWN_THEN_ABSENT) if state.check_tables else FINDINGS
    for report in state.checks:
        for name, s in report.stores.items():
            for verdict, ids in s.examples.items():
                if verdict in shown:
                    console.print(f"  {report.label} {name}: {s.counts[verdict]} {verdict.value} "
                                  f"({DESCRIPTIONS[verdict]}), e.g. {', '.join(ids[:3])}")
    faulted = {f.store for f in state.applied}
    if faulted and state.checks:
        last = state.checks[-1]
        calm = [n for n, s in last.stores.items() if n not in faulted and not s.has_findings
                and s.counts[Verdict.OK] == sum(s.counts.values()) - s.counts[Verdict.NOT_ATTEMPTED]]
        others = [n for n in last.stores if n not in faulted]
        console.print(f"  stores not faulted: {', '.join(others) or 'none'}; unaffected (every write acknowledged "
                      f"and present as written, check {last.label}): {', '.join(calm) or 'none'}")
    if state.visibility is not None:
        console.print(visibility_table(state))
    if state.history is not None:
        console.print(f"  history: {state.history.operations} operations in {state.history.path}")
