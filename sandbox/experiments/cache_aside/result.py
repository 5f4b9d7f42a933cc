"""The cache-aside experiment's result: one outcome per policy (and the outage run), in the order they ran."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sandbox.experiments.cache_aside.mix import PolicyOutcome


@dataclass
class CachePolicies:
    outcomes: list[PolicyOutcome] = field(default_factory=list)
    # key -> the newest version the origin acknowledged, over every policy and step of the run (each writes the
    # next one; not in summary.json)
    committed: dict[Any, int] = field(default_factory=dict)

    def to_json(self) -> list[dict[str, Any]] | None:
        return [o.to_json() for o in self.outcomes] or None
