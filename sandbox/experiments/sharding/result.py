"""The sharding experiments' results, by step, as plain JSON (summary.json `experiments.<step>`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class ShardingRuns:
    by_step: dict[str, dict[str, Any]] = field(default_factory=dict)  # sharding, reshard, partitioning, routing

    def to_json(self) -> dict[str, dict[str, Any]]:
        return self.by_step
