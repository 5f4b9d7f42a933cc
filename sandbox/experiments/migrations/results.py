"""What the migration step measured: each migration's (and rollback's) impact on the live writes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sandbox.measure.ddl_impact import Recorder, Window, in_window, lock_summary, time_above


@dataclass
class MigrationImpact:
    """One migration (or its rollback) under load."""

    name: str
    summary: str
    direction: str
    ok: bool
    attempts: int
    duration_s: float
    rewritten: bool | None  # storage id changed (PostgreSQL relfilenode); None: not known
    start_ns: int
    end_ns: int  # the change's end plus the settling time: late answers stay in its window
    error: str | None = None
    # Filled in once the load has stopped and every operation meant for the window has answered.
    window: Window = field(default_factory=Window.empty)
    above_2x_s: float = 0.0
    locks: dict[str, Any] = field(default_factory=dict)

    def measure(self, rec: Recorder, baseline: Window) -> None:
        self.window = Window.of(in_window(rec.ops, self.start_ns, self.end_ns))
        self.above_2x_s = time_above(rec.ops, self.start_ns, self.end_ns, 2 * baseline.p99_ms)
        self.locks = lock_summary(rec.waits, self.start_ns, self.end_ns, rec.sample_ns)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "summary": self.summary, "direction": self.direction, "ok": self.ok,
                "attempts": self.attempts, "duration_s": round(self.duration_s, 3), "rewritten": self.rewritten,
                "ops": self.window.ops, "p99_ms": round(self.window.p99_ms, 2), "max_ms": round(self.window.max_ms, 2),
                "failed": self.window.failed, "unknown": self.window.unknown,
                "p99_above_2x_baseline_s": self.above_2x_s, **self.locks, "error": self.error}


@dataclass
class MigrationRun:
    store: str
    rate: float
    rate_source: str  # "given" or "half of a measured capacity of N/s"
    fill_rows: int
    lock_timeout_ms: int
    retries: int
    reader_s: float
    baseline: Window = field(default_factory=Window.empty)
    steps: list[MigrationImpact] = field(default_factory=list)
    schema_restored: bool | None = None
    schema_diff: list[str] = field(default_factory=list)
    timeline_csv: str | None = None

    @property
    def finding(self) -> bool:
        return self.schema_restored is False

    def to_json(self) -> dict[str, Any]:
        return {"store": self.store, "rate": round(self.rate, 1), "rate_source": self.rate_source,
                "fill_rows": self.fill_rows, "lock_timeout_ms": self.lock_timeout_ms, "retries": self.retries,
                "reader_s": self.reader_s,
                "baseline": {"ops": self.baseline.ops, "p99_ms": round(self.baseline.p99_ms, 2),
                             "max_ms": round(self.baseline.max_ms, 2)},
                "steps": [s.to_json() for s in self.steps], "schema_restored": self.schema_restored,
                "schema_diff": self.schema_diff, "timeline_csv": self.timeline_csv}
