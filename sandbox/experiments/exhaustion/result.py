"""What the disk_full step measured, per store, as plain JSON (summary.json `experiments.disk_full`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class DiskFullRun:
    result: dict[str, Any] = field(default_factory=dict)  # size, headroom, recover, stores -> what each did

    def to_json(self) -> dict[str, Any]:
        return self.result
