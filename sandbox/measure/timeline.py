"""Per-second throughput and latency of each store while a phase runs: CSV rows, .hlog intervals, progress.

Once a second the timeline takes each watched (store, op)'s interval histograms (see OpStats), writes
one CSV row per store/op/second to the results folder, the same intervals to the HdrHistogram interval
logs (sandbox.measure.hlog) and updates that store's progress line. The hot path only counts; all the
per-second work happens here, once a second.
"""

from __future__ import annotations

import asyncio
import csv
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from hdrh.histogram import HdrHistogram

from sandbox.measure.hlog import IntervalLogs
from sandbox.measure.latency import OpStats, decode, encode
from sandbox.measure.load import LoadPlan
from sandbox.measure.progress import Bar, Progress
from sandbox.measure.saturation import CpuMeter

COLUMNS = ("phase", "second", "store", "op", "warmup_ops", "ops", "ok", "errors", "ops_per_s", "response_p50_ms",
           "response_p99_ms", "response_max_ms", "service_p50_ms", "service_p99_ms", "client_cpu", "wall_clock",
           "span_s", "stage", "target_ops_s")
# Besides COLUMNS a row carries its interval histograms (standard HdrHistogram text) for the .hlog files,
# so rows measured in a worker process reach the parent's logs too.
HDR_KEYS = {"response": "interval_hdr_response", "service": "interval_hdr_service"}
TICK_S = 1.0
STAGES_FILE = "stages.jsonl"  # beside timeline.csv: each load stage's start and end on the wall clock


@dataclass
class _Watched:
    store: str
    op: str
    stats: OpStats
    bar: Bar
    done: int = 0  # operations finished (any outcome, warm-up included) at the last tick
    warm: int = 0  # of which warm-up


def row_from(phase: str, second: float, w: _Watched, span_s: float, cpu: float,
             response: HdrHistogram, service: HdrHistogram) -> dict[str, Any]:
    """One timeline row for the operations finished since the last one (their interval histograms)."""
    stats = w.stats
    done = stats.ok + stats.failed + stats.unknown + stats.warmup
    ops, warm = done - w.done, stats.warmup - w.warm
    w.done, w.warm = done, stats.warmup
    ok = response.get_total_count()

    def ms(hist: Any, p: float | None) -> float | None:
        if hist.get_total_count() == 0:
            return None
        return (hist.get_max_value() if p is None else hist.get_value_at_percentile(p)) / 1000.0

    return {"phase": phase, "second": round(second, 3), "store": w.store, "op": w.op, "warmup_ops": warm,
            "ops": ops, "ok": ok, "errors": ops - ok - warm,
            "ops_per_s": round(ops / span_s, 1) if span_s > 0 else None,
            "response_p50_ms": ms(response, 50), "response_p99_ms": ms(response, 99),
            "response_max_ms": ms(response, None), "service_p50_ms": ms(service, 50),
            "service_p99_ms": ms(service, 99), "client_cpu": round(cpu, 3),
            "wall_clock": round(time.time(), 3), "span_s": round(span_s, 3),  # the second ends at wall_clock
            HDR_KEYS["response"]: encode(response), HDR_KEYS["service"]: encode(service)}


@dataclass
class Timeline:
    """Ticks once a second while `async with` is open; rows go to `csv_path` (appended) and the progress."""

    phase: str
    csv_path: Path | None
    progress: Progress  # SILENT where nobody watches (a worker process)
    total_ops: int | None = None  # per store, for the progress bars; None when duration-limited
    sink: Callable[[dict[str, Any]], None] | None = None  # also gets every row (a worker process's stdout)
    local: bool = True  # False: the watched stats are filled elsewhere; rows arrive through add_row()
    keep_rows: bool = False  # True: also keep every row in `rows` (a step that reports them); else only on disk
    plan: LoadPlan | None = None  # with stages: each row gets the stage in force and the rate it asked for
    rows: list[dict[str, Any]] = field(default_factory=list)
    _watched: list[_Watched] = field(default_factory=list)
    _file: IO[str] | None = None
    _writer: Any = None
    _hlogs: IntervalLogs | None = None
    _task: asyncio.Task | None = None
    _started: float = 0.0
    _last: float = 0.0
    _schedule_wall: float = 0.0  # when the stages started, on the wall clock

    def watch(self, store: str, op: str, stats: OpStats) -> None:
        self._watched.append(_Watched(store, op, stats, self.progress.bar(f"{self.phase:<8} {store}", self.total_ops)))

    def add_row(self, row: dict[str, Any]) -> None:
        """A row measured elsewhere (a per-store worker process)."""
        self._emit(row)
        for w in self._watched:
            if w.store == row["store"] and w.op == row["op"]:
                w.done += row["ops"]
                self._show(w, row)

    def schedule_starts(self) -> None:
        """The stages start now (worker processes start their load later than the timeline opens)."""
        self._schedule_wall = time.time()

    def _staged(self, row: dict[str, Any]) -> None:
        """The stage in force at the row's end and the operations per second its schedule asked for."""
        if self.plan is None or not self.plan.stages or row.get("wall_clock") is None:
            return
        schedule = self.plan.schedule()
        end = row["wall_clock"] - self._schedule_wall
        start = end - (row.get("span_s") or TICK_S)
        stage = schedule.stage_at(max(0.0, (start + end) / 2))  # the one in force for most of the second
        row["stage"] = stage.label if stage is not None else "after the stages"
        span = end - max(0.0, start)
        row["target_ops_s"] = round((schedule.due(end) - schedule.due(max(0.0, start))) / span, 1) if span > 0 else None

    def _write_stage_marks(self) -> None:
        if self.plan is None or not self.plan.stages or self.csv_path is None:
            return
        with (self.csv_path.parent / STAGES_FILE).open("a") as out:
            for mark in self.plan.schedule().marks():
                out.write(json.dumps({"phase": self.phase, "stage": mark["stage"],
                                      "wall_start": round(self._schedule_wall + mark["start_s"], 3),
                                      "wall_end": round(self._schedule_wall + mark["end_s"], 3),
                                      "rate_start": mark["rate_start"], "rate_end": mark["rate_end"],
                                      "due": mark["due"]}) + "\n")

    def _emit(self, row: dict[str, Any], hists: dict[str, HdrHistogram] | None = None) -> None:
        """hists: the row's interval histograms when measured here (else decoded from the row's text)."""
        self._staged(row)
        if self.keep_rows:
            self.rows.append(row)
        if self.sink is not None:
            self.sink(row)
        if self._writer is not None:
            self._writer.writerow(row)
        if self._hlogs is not None and row.get("wall_clock") is not None:
            for kind, key in HDR_KEYS.items():
                hist = hists[kind] if hists is not None else decode(row.get(key) or "")
                self._hlogs.add(row["store"], row["op"], kind, hist, row["wall_clock"], row["span_s"])

    def _show(self, w: _Watched, row: dict[str, Any]) -> None:
        if not row["ops"] and self.total_ops is not None and w.done >= self.total_ops:
            return  # finished before the others: its line keeps its last second's rate, not the idle seconds' 0
        p99 = row["response_p99_ms"]
        text = f"{self.phase:<8} {w.store:<9}{row['ops_per_s'] or 0:>9,.0f} op/s  p99 " + \
            ("-" if p99 is None else f"{p99:.2f} ms") + ("  (warm-up)" if row["warmup_ops"] else "")
        w.bar.show(w.done, text)

    def tick(self) -> None:
        if not self.local:
            return
        now = time.perf_counter()
        span, second = now - self._last, now - self._started
        self._last = now
        cpu = self._cpu.fraction()
        self._cpu.reset()
        for w in self._watched:
            response, service = w.stats.take_interval()
            row = row_from(self.phase, second, w, span, cpu, response, service)
            self._emit(row, {"response": response, "service": service})  # an empty second is a finding too
            self._show(w, row)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(max(0.0, self._last + TICK_S - time.perf_counter()))
            self.tick()

    async def __aenter__(self) -> Timeline:
        if self.csv_path is not None:
            self.csv_path.parent.mkdir(parents=True, exist_ok=True)
            new = not self.csv_path.exists()
            self._file = self.csv_path.open("a", newline="")
            self._writer = csv.DictWriter(self._file, COLUMNS, extrasaction="ignore")
            if new:
                self._writer.writeheader()
            self._hlogs = IntervalLogs(self.csv_path.parent)
        self._cpu = CpuMeter()
        self._started = self._last = time.perf_counter()
        self.schedule_starts()
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        unseen = any(w.stats.ok + w.stats.failed + w.stats.unknown + w.stats.warmup > w.done for w in self._watched)
        if self._watched and (unseen or time.perf_counter() - self._last > 0.05):
            self.tick()  # the last partial second: every operation lands in some row and .hlog interval
        self._write_stage_marks()
        if self._file is not None:
            self._file.close()
        if self._hlogs is not None:
            self._hlogs.close()
