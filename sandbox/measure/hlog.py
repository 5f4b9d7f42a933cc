"""HdrHistogram interval logs (.hlog): one per store, operation and time, one interval per second.

Written with the hdrhistogram library's HistogramLogWriter, in the format HistogramLogAnalyzer and the
other HdrHistogram tools open. Values are microseconds (the histograms' unit), so the interval max column
is written in milliseconds (ratio 1000). A log spans every phase of the run that timed the operation:
a later phase appends to the file and keeps the StartTime of the first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from hdrh.histogram import HdrHistogram
from hdrh.log import HistogramLogReader, HistogramLogWriter

from sandbox.measure.latency import new_histogram

FOLDER = "hlog"
US_PER_MS = 1000.0
_START = re.compile(r"#\[StartTime: *([\d.]+) ")


def log_path(results_dir: Path, store: str, op: str, kind: str) -> Path:
    """kind: response | service (see sandbox.measure.latency)."""
    return results_dir / FOLDER / f"{store}.{op}.{kind}.hlog"


def _start_time(path: Path) -> float | None:
    with path.open() as f:
        for line in f:
            if not line.startswith("#"):
                return None
            if m := _START.match(line):
                return float(m.group(1))
    return None


@dataclass
class _Log:
    file: IO[str]
    writer: HistogramLogWriter
    start_s: float  # the log's StartTime, seconds since the epoch


@dataclass
class IntervalLogs:
    """The open .hlog files of one phase; `add` writes one interval, `close` closes them all."""

    results_dir: Path
    _logs: dict[Path, _Log] = field(default_factory=dict)

    def add(self, store: str, op: str, kind: str, hist: HdrHistogram, end_s: float, span_s: float) -> None:
        path = log_path(self.results_dir, store, op, kind)
        log = self._logs.get(path) or self._open(path, end_s - span_s, f"{store} {op} {kind} time")
        start = end_s - span_s
        hist.set_start_time_stamp(int(start * 1000))
        hist.set_end_time_stamp(int(end_s * 1000))
        # Relative to StartTime, as the Java HistogramLogWriter does; a 0.0 start would make the library
        # fall back to the histogram's own (absolute) timestamp, hence the floor of 1 us.
        log.writer.output_interval_histogram(hist, max(start - log.start_s, 1e-6), end_s - log.start_s,
                                             max_value_unit_ratio=US_PER_MS)

    def _open(self, path: Path, start_s: float, what: str) -> _Log:
        path.parent.mkdir(parents=True, exist_ok=True)
        existing = _start_time(path) if path.exists() else None
        file = path.open("a")
        writer = HistogramLogWriter(file)
        if existing is None:
            writer.output_comment(f"[polyglot sandbox: {what}, values in microseconds, one interval per second]")
            writer.output_log_format_version()
            # The library's output_start_time() cannot format its date; the line is the standard one.
            stamp = datetime.fromtimestamp(start_s, UTC).isoformat(" ")
            writer.output_comment(f"[StartTime: {start_s:.3f} (seconds since epoch), {stamp}]")
            writer.output_legend()
        log = _Log(file, writer, existing if existing is not None else start_s)
        self._logs[path] = log
        return log

    def close(self) -> None:
        for log in self._logs.values():
            log.file.close()
        self._logs.clear()


def read_log(path: Path) -> tuple[HdrHistogram, int]:
    """Every interval of a .hlog added into one histogram, and the number of intervals."""
    total = new_histogram()
    reader = HistogramLogReader(str(path), new_histogram())
    intervals = 0
    try:
        while (hist := reader.get_next_interval_histogram()) is not None:
            total.add(hist)
            intervals += 1
    finally:
        reader.close()
    return total, intervals
