"""Reading a results folder back: its summary, trials, per-second timeline and injected-fault events.

Everything the HTML report, `sandbox compare` and `sandbox recommend` show comes from here, so a folder
written by an older version reports the same way as a new one. A folder of repeated trials
(`--repeat N`) has a summary.json listing its trials, each a results folder of its own.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sandbox.errors import UsageError
from sandbox.measure.checker import FINDINGS

METRICS = ("throughput", "p50", "p99", "p99.9")  # what compare and the trials table show per store and op
STAND_INS = ("SecantusDB", "OpenSearch API")  # products that answer here in place of MongoDB / Elasticsearch
FINDING_COUNTS = tuple(v.value for v in FINDINGS)  # the checker's findings, as summary.json spells them


@dataclass(frozen=True)
class Trial:
    path: Path
    summary: dict[str, Any]

    @property
    def run_id(self) -> str:
        return str(self.summary.get("run_id", self.path.name))

    def operations(self) -> dict[tuple[str, str], dict[str, Any]]:
        """(store, op) -> the op's JSON in summary.json."""
        return {(store, op): stats for store, s in self.summary.get("stores", {}).items()
                for op, stats in s.get("operations", {}).items()}


@dataclass(frozen=True)
class ResultsFolder:
    path: Path
    summary: dict[str, Any]
    trials: list[Trial]

    @property
    def repeated(self) -> bool:
        return "trials" in self.summary

    @property
    def label(self) -> str:
        return self.path.name


def load(path: Path) -> ResultsFolder:
    """A results folder; one clear UsageError when it is not one."""
    summary = read_summary(path)
    if "trials" not in summary:
        return ResultsFolder(path, summary, [Trial(path, summary)])
    trials = [Trial(path / name, read_summary(path / name)) for name in summary["trials"]]
    return ResultsFolder(path, summary, trials)


def read_summary(path: Path) -> dict[str, Any]:
    file = path / "summary.json"
    if not file.is_file():
        raise UsageError(f"{path} is not a results folder (no summary.json): pass a folder under results/")
    try:
        data = json.loads(file.read_text())
    except ValueError as exc:
        raise UsageError(f"{file} is not valid JSON ({exc}): the run that wrote it did not finish") from exc
    if not isinstance(data, dict):
        raise UsageError(f"{file} is not a sandbox summary: pass a folder under results/")
    return data


def metrics(op: dict[str, Any]) -> dict[str, float | None]:
    """The compared numbers of one store/op in one trial: orders/s and response-time percentiles (ms).

    Orders, not operations, per second: a batch of ten is one operation, so only orders/s compares runs
    with different --batch (operations that carry no orders fall back to operations/s)."""
    lat = op.get("latency_ms") or {}
    return {"throughput": op.get("throughput_orders_s") or op.get("throughput_ops_s"), "p50": lat.get("p50"),
            "p99": lat.get("p99"), "p99.9": lat.get("p99.9")}


def timeline(path: Path) -> list[dict[str, Any]]:
    """timeline.csv rows with numbers as floats (None where empty); [] when the run wrote none."""
    file = path / "timeline.csv"
    if not file.is_file():
        return []
    with file.open(newline="") as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        for key, value in row.items():
            if key not in ("phase", "store", "op", "stage"):
                row[key] = float(value) if value not in ("", None) else None
    return rows


@dataclass(frozen=True)
class Event:
    wall_clock: float  # seconds since the epoch
    store: str
    action: str  # kill, pause, resume, restart, start, stop ...
    detail: str


def events(path: Path, summary: dict[str, Any]) -> list[Event]:
    """The injected faults (Jepsen's nemesis lines) of the run's history.jsonl, on the wall clock."""
    name = (summary.get("history") or {}).get("file")
    file = path / name if name else None
    if file is None or not file.is_file():
        return []
    origin, out = None, []
    with file.open() as f:
        for line in f:
            if '"header"' not in line and '"nemesis"' not in line:
                continue  # the operations themselves: not markers
            item = json.loads(line)
            if item.get("type") == "header":
                origin = item["wall_clock_at_0"]
            elif origin is not None:
                out.append(Event(origin + item["time"] / 1e9, item.get("store", ""), item.get("f", ""),
                                 str(item.get("value", ""))))
    return out


@dataclass(frozen=True)
class StageMark:
    """One open-loop stage of a load phase (stages.jsonl, sandbox.measure.stages), on the wall clock."""

    phase: str
    stage: str
    wall_start: float
    wall_end: float
    due: float | None = None  # operations the stage's schedule asked for


def stage_marks(path: Path) -> list[StageMark]:
    """The load stages of the run's phases; [] when it ran none."""
    file = path / "stages.jsonl"
    if not file.is_file():
        return []
    out = []
    for line in file.read_text().splitlines():
        if line.strip():
            item = json.loads(line)
            out.append(StageMark(item["phase"], item["stage"], item["wall_start"], item["wall_end"], item.get("due")))
    return out


def stand_in_answered(summary: dict[str, Any]) -> list[str]:
    """The stores a stand-in answered for in this run."""
    return [name for name, s in summary.get("stores", {}).items()
            if str((s.get("server") or {}).get("product", "")).startswith(STAND_INS)]


def findings(check: dict[str, Any]) -> list[str]:
    """What one store's check (summary.json `check.reports[].stores[name]`) found, e.g. ["lost 3"]."""
    counts = check.get("counts") or {}
    found = [f"{key.replace('_', ' ')} {counts[key]}" for key in FINDING_COUNTS if counts.get(key)]
    return ([f"not checked: {check['error']}"] if check.get("error") else []) + found
