"""What a schema change did to a live workload: latency and failures of the operations meant to start
while it ran, against a baseline window, plus the lock waits sampled from the server on the same clock.

Operations are attributed by their intended start (open loop), so an operation that queued behind a
lock counts in the window it was meant to run in, with the wait in its latency.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sandbox.measure.timing import OpEvent
from sandbox.stores.migrations import Waits

BIN_NS = 250_000_000  # p99 "above 2x baseline" is judged per 250 ms of intended starts


@dataclass(frozen=True, slots=True)
class Op:
    intended_ns: int
    latency_ns: int
    outcome: str  # ok | fail | info


@dataclass(frozen=True, slots=True)
class WaitSample:
    at_ns: int
    waits: Waits


@dataclass
class Recorder:
    """Listens to TimedStore's events and to the lock sampler; keeps both on one clock (perf_counter_ns)."""

    ops: list[Op] = field(default_factory=list)
    waits: list[WaitSample] = field(default_factory=list)
    sample_ns: int = 50_000_000

    def __call__(self, event: OpEvent) -> None:
        intended = event.intended_ns if event.intended_ns is not None else event.start_ns
        self.ops.append(Op(intended, event.end_ns - intended, event.outcome))


def p99(latencies: Sequence[int]) -> int:
    if not latencies:
        return 0
    ordered = sorted(latencies)
    return ordered[max(0, math.ceil(0.99 * len(ordered)) - 1)]


def in_window(ops: Iterable[Op], start_ns: int, end_ns: int) -> list[Op]:
    return [o for o in ops if start_ns <= o.intended_ns < end_ns]


@dataclass(frozen=True)
class Window:
    ops: int
    p99_ms: float
    max_ms: float
    failed: int  # the server refused (e.g. a lock timeout inside the operation)
    unknown: int  # timed out or the connection broke: outcome unknown

    @classmethod
    def empty(cls) -> Window:
        return cls(0, 0.0, 0.0, 0, 0)

    @classmethod
    def of(cls, ops: Sequence[Op]) -> Window:
        ok = [o.latency_ns for o in ops if o.outcome == "ok"]
        return cls(len(ops), p99(ok) / 1e6, max(ok, default=0) / 1e6,
                   sum(o.outcome == "fail" for o in ops), sum(o.outcome == "info" for o in ops))


def time_above(ops: Sequence[Op], start_ns: int, end_ns: int, threshold_ms: float) -> float:
    """Seconds (in BIN_NS steps) whose operations' p99 (failures count as over) exceeded threshold_ms."""
    bins: dict[int, list[Op]] = {}
    for o in in_window(ops, start_ns, end_ns):
        bins.setdefault((o.intended_ns - start_ns) // BIN_NS, []).append(o)
    over = 0
    for members in bins.values():
        lat = [o.latency_ns if o.outcome == "ok" else math.inf for o in members]
        ordered = sorted(lat)
        if ordered[max(0, math.ceil(0.99 * len(ordered)) - 1)] > threshold_ms * 1e6:
            over += 1
    return over * BIN_NS / 1e9


def lock_summary(samples: Sequence[WaitSample], start_ns: int, end_ns: int, sample_ns: int) -> dict[str, Any]:
    inside = [s for s in samples if start_ns <= s.at_ns < end_ns]
    return {"sampled": bool(inside),
            "migration_lock_wait_s": round(sum(s.waits.migration_waiting for s in inside) * sample_ns / 1e9, 3),
            "blocked_sessions_max": max((s.waits.blocked for s in inside), default=0),
            "blocked_session_s": round(sum(s.waits.blocked for s in inside) * sample_ns / 1e9, 3)}


def timeline_rows(rec: Recorder, start_ns: int, end_ns: int, labels: Sequence[tuple[int, int, str]],
                  bin_ns: int = 100_000_000) -> list[dict[str, Any]]:
    """Per-bin rows for the timeline CSV: ops, p99, max, failures, blocked sessions, what DDL ran."""
    rows = []
    for lo in range(start_ns, end_ns, bin_ns):
        hi = lo + bin_ns
        w = Window.of(in_window(rec.ops, lo, hi))
        waits = [s.waits for s in rec.waits if lo <= s.at_ns < hi]
        label = next((name for a, b, name in labels if a < hi and lo < b), "")
        rows.append({"t_s": round((lo - start_ns) / 1e9, 2), "ops": w.ops, "p99_ms": round(w.p99_ms, 2),
                     "max_ms": round(w.max_ms, 2), "failed": w.failed + w.unknown,
                     "blocked_sessions": max((x.blocked for x in waits), default=0),
                     "ddl_waiting": int(any(x.migration_waiting for x in waits)), "migration": label})
    return rows
