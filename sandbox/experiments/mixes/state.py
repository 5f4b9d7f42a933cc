"""What the mix, update-check and capacity steps of one run share and leave for the report."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sandbox.measure.capacity import CapacityResult, StepResult
from sandbox.measure.mix_driver import OrderIds
from sandbox.measure.update_checker import UpdateCheck
from sandbox.workload.mix import MixSpec


@dataclass(frozen=True)
class SweepPoint:
    store: str
    x: int  # the concurrency level, or the data-set size in orders
    result: StepResult

    def to_json(self) -> dict[str, Any]:
        r = self.result
        return {"store": self.store, "x": self.x, "ops_s": None if r.achieved is None else round(r.achieved, 1),
                "p50_ms": r.p50_ms, "p99_ms": r.percentile_ms, "ok": r.ok, "errors": r.errors,
                "first_error": r.first_error, "flags": list(r.flags)}


@dataclass
class MixRun:
    ids: OrderIds = field(default_factory=OrderIds)  # order ids by index: the data set, then run inserts
    loaded: int = 0  # orders in the data set loaded before the mix
    spec: MixSpec | None = None
    left_out: dict[str, dict[str, int]] = field(default_factory=dict)  # store -> op -> not sent (capability)
    not_found: dict[str, int] = field(default_factory=dict)  # store -> reads by id that found no order
    checks: dict[str, UpdateCheck] = field(default_factory=dict)
    capacity: dict[str, CapacityResult] = field(default_factory=dict)
    sweeps: dict[str, list[SweepPoint]] = field(default_factory=dict)  # "concurrency" / "data_set" -> points

    @property
    def has_findings(self) -> bool:
        """Exit status 3: a lost update, an impossible state or wrong stock on any store."""
        return any(c.has_findings for c in self.checks.values())

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"data_set_orders": self.loaded, "spec": self.spec.to_json() if self.spec else None,
                               "left_out": self.left_out, "reads_not_found": self.not_found}
        if self.checks:
            out["update_check"] = {"has_findings": self.has_findings,
                                   "stores": {n: c.to_json() for n, c in self.checks.items()}}
        if self.capacity:
            out["capacity"] = {n: c.to_json() for n, c in self.capacity.items()}
        if self.sweeps:
            out["sweeps"] = {kind: [p.to_json() for p in points] for kind, points in self.sweeps.items()}
        return out
