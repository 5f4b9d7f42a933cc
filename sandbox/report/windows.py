"""Latency inside time windows: per load stage, and inside vs outside a server's background work.

The per-second interval histograms of the run's .hlog files (sandbox.measure.hlog) are added exactly (never
percentiles averaged) over the seconds that fall in a window; a second belongs to a window when its middle
does (stages), or when it overlaps one at all (background work: a checkpoint that ends a tenth of a second
into a second can still have slowed the operations of that second).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from hdrh.histogram import HdrHistogram
from hdrh.log import HistogramLogReader

from sandbox.measure.hlog import FOLDER
from sandbox.measure.latency import new_histogram


@dataclass(frozen=True)
class Interval:
    start: float  # seconds since the epoch
    end: float
    hist: HdrHistogram

    @property
    def middle(self) -> float:
        return (self.start + self.end) / 2


def intervals(path: Path) -> list[Interval]:
    """Every interval of one .hlog, with its wall-clock span."""
    out = []
    reader = HistogramLogReader(str(path), new_histogram())
    try:
        while (hist := reader.get_next_interval_histogram()) is not None:
            out.append(Interval(hist.get_start_time_stamp() / 1000, hist.get_end_time_stamp() / 1000, hist))
    finally:
        reader.close()
    return out


def response_logs(results: Path) -> dict[tuple[str, str], Path]:
    """(store, op) -> its response-time .hlog."""
    out = {}
    for path in sorted((results / FOLDER).glob("*.response.hlog")):
        store, op = path.name.removesuffix(".response.hlog").rsplit(".", 1)
        out[(store, op)] = path
    return out


def added(items: Iterable[Interval]) -> HdrHistogram:
    total = new_histogram()
    for item in items:
        total.add(item.hist)
    return total


def overlaps(item: Interval, windows: Sequence[tuple[float, float]]) -> bool:
    return any(start < item.end and item.start < end for start, end in windows)


def p(hist: HdrHistogram, percentile: float) -> float | None:
    """A percentile in ms, None with no operation."""
    return hist.get_value_at_percentile(percentile) / 1000 if hist.get_total_count() else None
