"""The durability experiment's result: a row per store, durability profile and trial, measured after kill -9."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class DurabilityRow:
    """One store under one durability profile: measured, never filled in from documentation."""

    profile: str
    store: str
    server: str
    setting: str  # as configured for the server by the sandbox (and as reported by it, where it says)
    write_p50_ms: float | None
    write_p99_ms: float | None
    acknowledged: int
    lost: int
    unknown: int
    divergent: int
    held_after: int | None  # orders found after the restart; None when the read-back failed
    error: str | None = None
    trial: int = 1
    crash: dict[str, Any] = field(default_factory=dict)  # crash_trial.Crash: when and how it was killed
    server_state: str = ""  # the server's persistence state right before the kill, in one line
    disk: str = ""  # with a busy disk: the writer's own fsync latencies during this trial, in one line

    def to_json(self) -> dict[str, Any]:
        return dict(vars(self))


@dataclass
class DurabilityRun:
    """The durability experiment's result: every trial's row, what was simulated, the busy disk's load."""

    rows: list[DurabilityRow] = field(default_factory=list)
    failure_simulated: str = ""
    disk_loads: list[dict[str, Any]] = field(default_factory=list)  # busy disk: the writer's load per trial

    def to_json(self) -> dict[str, Any] | None:
        if not self.rows:
            return None
        out: dict[str, Any] = {"failure_simulated": self.failure_simulated, "rows": [r.to_json() for r in self.rows]}
        if self.disk_loads:
            out["busy_disk"] = self.disk_loads
        return out
