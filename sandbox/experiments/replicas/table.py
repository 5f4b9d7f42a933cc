"""Tables for read replicas: each guarantee's write cost beside what replica readers saw; faults on replicas."""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from rich.table import Table

from sandbox.experiments.faults.table import COLUMNS
from sandbox.experiments.replicas.faults import ReplicaFault
from sandbox.experiments.replicas.results import ReplicaResults
from sandbox.measure.checker import FINDINGS, Verdict
from sandbox.measure.latency import summarize
from sandbox.report.console import console


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}" if value < 100 else f"{value:,.0f}"


def _server(summary: dict[str, Any]) -> str:
    parts = []
    if replay := summary.get("replay_s"):
        parts.append(f"replay {_ms(replay['median'] * 1000)}/{_ms(replay['max'] * 1000)} ms")
    if behind := summary.get("lag_bytes"):
        parts.append(f"{behind['median'] / 1024:,.1f}/{behind['max'] / 1024:,.1f} KiB")
    return ", ".join(parts) or ("no figure" if summary["samples"] else "not answered")


def guarantees_table(state: ReplicaResults) -> Table:
    table = Table(title="read replicas: each guarantee's write cost beside what a reader of the replica saw")
    for col in ("store", "guarantee", "write ms p50/p99", "stale RYW", "lag ms p99/max", "monotonic viol.",
                "server lag median/max"):
        table.add_column(col, justify="right" if col.startswith(("write", "lag", "mono")) else "left")
    for row in state.rows:
        r, lag = row.reads, summarize(row.reads.lag)
        stale = f"{r.stale_first_reads}/{r.markers}" + (f" ({r.stale_rate:.0%})" if r.stale_rate is not None else "")
        table.add_row(row.store, escape(row.guarantee.name), f"{_ms(row.write_ms['p50'])}/{_ms(row.write_ms['p99'])}",
                      stale, f"{_ms(lag['p99'])}/{_ms(lag['max'])}", f"{r.monotonic_violations}/{r.monotonic_checks}",
                      _server(r.server_summary()))
    return table


SHORT = {Verdict.UNKNOWN_THEN_PRESENT: "unknown, there", Verdict.UNKNOWN_THEN_ABSENT: "unknown, absent"}


def faults_table(faults: list[ReplicaFault]) -> Table:
    table = Table(title="faults on replicas")
    for col in ("store", "fault", "guarantee", "lag max s", "recovery s", "replica reads failed (fell back)",
                "every write on the promoted node"):
        table.add_column(col, justify="right" if col.startswith(("lag", "recovery", "replica")) else "left")
    for f in faults:
        lag = summarize(f.reads.lag) if f.reads else {}
        verdicts = "-"
        if f.check is not None:
            verdicts = f.check.error or ", ".join(
                (f"[red]{n} {COLUMNS[v]}[/]" if v in FINDINGS else f"{n} {SHORT.get(v, COLUMNS[v])}")
                for v, n in f.check.counts.items() if n and v != Verdict.NOT_ATTEMPTED)
        failed = f"{f.reads.replica_read_errors} ({f.reads.fallback_reads})" if f.reads else "-"
        max_s = lag.get("max")
        table.add_row(f.store, f"{f.action} {f.seconds:g} s", escape(f.guarantee),
                      "-" if max_s is None else f"{max_s / 1000:.2f}",
                      "-" if f.recovery_s is None else f"{f.recovery_s:.2f}", failed, verdicts)
    return table


def print_replicas(state: ReplicaResults) -> None:
    if state.rows:
        console.print(guarantees_table(state))
        roles = {(r.store, name, role) for r in state.rows for name, role in r.roles.items()}
        for store, name, role in sorted(roles):
            console.print(f"  {store} {name}: {escape(role)}")
    if state.faults:
        console.print(faults_table(state.faults))
        acknowledged = {f"{f.store} {f.guarantee}": f.acknowledged for f in state.faults if f.action == "promote"}
        if acknowledged:
            console.print("  acknowledged writes before the promotion: "
                          + ", ".join(f"{k} {n}" for k, n in acknowledged.items()))
        for f in state.faults:  # every action is in summary.json; here who answered after a promotion
            for line in f.detail:
                if line.startswith("promoted node reports"):
                    console.print(f"  {f.store} {f.guarantee}: {escape(line)}")
    for store, why in state.without.items():
        console.print(f"  {store}: {escape(why)}")
