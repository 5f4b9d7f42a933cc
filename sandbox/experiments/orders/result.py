"""The core experiment's result: every store's read-back comparison, and the sample reads that found nothing."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sandbox.measure.model_compare import ModelComparison


@dataclass
class ReadBack:
    comparisons: dict[str, ModelComparison] = field(default_factory=dict)
    read_misses: dict[str, int] = field(default_factory=dict)  # reads by key that found nothing, per store

    @property
    def consistent(self) -> bool | None:
        return all(c.consistent for c in self.comparisons.values()) if self.comparisons else None

    def to_json(self) -> dict[str, Any]:
        return {"consistent": self.consistent}
