"""Backups and restore drills: a backup on a schedule under open-loop writes, a disaster at a seeded moment (the
server killed, its data directory deleted), a restore from the newest backup (+ PostgreSQL's WAL archive), and
RPO (acknowledged roots lost, and when they were acknowledged), RTO (seconds until reads of restored data answer),
backup duration, size and the foreground p99 during each backup (scenario `drill`, docs/backups.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sandbox.experiments.backups import section, steps
from sandbox.experiments.backups.result import BackupRun
from sandbox.experiments.backups.table import print_drill
from sandbox.experiments.base import Experiment
from sandbox.report.page import Draw
from sandbox.scenario.context import RunContext


class Backups(Experiment[BackupRun]):
    name = "backups"
    result = BackupRun
    steps = steps.STEPS
    template, folder = "section.html.j2", Path(__file__).parent

    def summary(self, result: BackupRun | None) -> dict[str, Any]:
        return {} if result is None or not (result.rows or result.pitr) else {"backups": result.to_json()}

    def show(self, ctx: RunContext, result: BackupRun) -> list[str]:
        print_drill(result)
        return []

    def section(self, summary: dict[str, Any], draw: Draw | None) -> dict[str, Any] | None:
        tables = section.tables(summary)
        return {"backups": tables} if tables else None

    def matrix(self, summary: dict[str, Any], run_id: str) -> list[tuple[str, str, str]]:
        return [(row["store"], "recovery", f"{row['method']} every backup: RPO {row['lost']} acknowledged lost, "
                 f"RTO {row['rto_s']} s at {row['acknowledged']:,} roots (run {run_id})")
                for row in (summary.get("backups") or {}).get("rows", []) if row.get("rto_s") is not None]

    def injected_faults(self, summary: dict[str, Any]) -> bool:
        return bool((summary.get("backups") or {}).get("rows"))


EXPERIMENT = Backups()
