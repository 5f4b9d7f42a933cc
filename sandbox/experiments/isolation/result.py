"""What the isolation step measured: one row per store and level (summary.json `isolation`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# What each promise forbids (docs/isolation.md, "Which level forbids what"); any other class is forbidden everywhere.
ALLOWED = {"read-committed": {"G-single", "G2-item", "lost-update", "non-repeatable-read"},
           "snapshot-isolation": {"G2-item"},
           "serializable": set()}
NOT_ANOMALIES = {"cycle-search-incomplete"}  # the checker's own limit, reported, never a broken promise


def broken(promise: str, anomalies: dict[str, int]) -> list[str]:
    """The classes found that the level's promise forbids."""
    return [k for k in anomalies if k not in ALLOWED[promise] and k not in NOT_ANOMALIES]


@dataclass
class IsolationRuns:
    rows: list[dict[str, Any]] = field(default_factory=list)  # store, level, promise, counts, anomalies, examples
    left_out: dict[str, str] = field(default_factory=dict)  # store -> why it has no multi-key transactions
    workload: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"rows": self.rows, "left_out": self.left_out, "workload": self.workload}
