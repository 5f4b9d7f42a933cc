"""The cache-aside experiment's result: one outcome per policy (and the outage run), in the order they ran."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sandbox.experiments.cache_aside.mix import PolicyOutcome


@dataclass
class CachePolicies:
    outcomes: list[PolicyOutcome] = field(default_factory=list)

    def to_json(self) -> list[dict[str, Any]] | None:
        return [o.to_json() for o in self.outcomes] or None
