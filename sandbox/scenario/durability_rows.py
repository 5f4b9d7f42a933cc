"""One row of the durability table: a store under a durability profile, measured after kill -9."""

from __future__ import annotations

from dataclasses import dataclass
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

    def to_json(self) -> dict[str, Any]:
        return dict(vars(self))
