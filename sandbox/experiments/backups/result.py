"""What a backup drill measured, per store (summary.json `backups`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class TakenBackup:
    """One scheduled backup: when (seconds into the writes), how long, how big, the foreground meanwhile."""

    at_s: float
    duration_s: float
    size_bytes: int
    acked_before: int  # roots acknowledged when it began: the data size it was taken at
    p99_ms: float | None  # writes started while it ran
    writes: int
    method: str
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return dict(vars(self))


@dataclass
class DrillRow:
    store: str
    server: str
    method: str
    continuous: str  # what the store keeps between backups, and whether it survived; "-": nothing
    backups: list[TakenBackup] = field(default_factory=list)
    baseline_p99_ms: float | None = None  # writes started outside any backup, before the disaster
    disaster_at_s: float | None = None
    disaster: str = ""
    acknowledged: int = 0
    sent: int = 0
    lost: int | None = None  # acknowledged, absent after the restore: the RPO in roots
    unknown: int | None = None  # in flight at the disaster (connection lost), either way
    lost_window_s: tuple[float, float] | None = None  # the lost acknowledgements, seconds before the disaster
    restored_from: str = ""
    rto_s: float | None = None  # disaster -> the store answers a read of restored data
    restore: str = ""
    present_after: int | None = None
    counts: dict[str, int] = field(default_factory=dict)  # every verdict of the checker
    error: str | None = None
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        doc = dict(vars(self))
        doc["backups"] = [b.to_json() for b in self.backups]
        doc["lost_window_s"] = list(self.lost_window_s) if self.lost_window_s else None
        return doc


@dataclass
class PitrRow:
    store: str
    target: str  # T, ISO UTC
    target_s: float  # seconds into the writes
    before: int  # acknowledged before T
    after: int  # sent after T
    in_flight: int  # sent before T, acknowledged after it: unknown
    missing_before: int  # acknowledged before T, absent: must be 0
    present_after: int  # sent after T, present: must be 0
    in_flight_present: int
    restore: str = ""
    rto_s: float | None = None
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return dict(vars(self))


@dataclass
class BackupRun:
    rows: list[DrillRow] = field(default_factory=list)
    pitr: list[PitrRow] = field(default_factory=list)
    not_possible: dict[str, str] = field(default_factory=dict)  # store -> why it has no backups here
    failure_simulated: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"rows": [r.to_json() for r in self.rows], "pitr": [p.to_json() for p in self.pitr],
                "not_possible": self.not_possible, "failure_simulated": self.failure_simulated}
