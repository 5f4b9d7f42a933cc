"""The strategies experiment's result: one outcome per write strategy, in the order they ran."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sandbox.strategies.outcome import StrategyOutcome


@dataclass
class StrategyRuns:
    outcomes: list[StrategyOutcome] = field(default_factory=list)

    def to_json(self) -> list[dict[str, Any]] | None:
        return [o.to_json() for o in self.outcomes] or None
