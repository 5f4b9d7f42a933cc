"""What the footprint step measured (summary.json `footprint`): per store, the server's readings at each size,
the fit of held bytes over roots, the log bytes per write, and what the server could not say."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sandbox.experiments.footprint.fit import Fit, fit_line, per_write
from sandbox.experiments.footprint.prices import PriceTable
from sandbox.experiments.footprint.project import Projection, project
from sandbox.stores.contract import FootprintReading


@dataclass
class StoreFootprint:
    server: str  # as the server reports itself: a stand-in's figures are the stand-in's
    readings: list[tuple[int, FootprintReading]] = field(default_factory=list)  # (roots held, reading)

    @property
    def sized(self) -> list[tuple[int, FootprintReading]]:
        """The readings at the run's sizes (the first, before the step wrote, is the baseline)."""
        return self.readings[1:]

    def fit(self) -> Fit | None:
        points = [(n, r.held_bytes) for n, r in self.sized if r.held_bytes is not None]
        return fit_line(points)  # type: ignore[arg-type,unused-ignore]  # None filtered above

    def log_per_write(self) -> float | None:
        if len(self.readings) < 2:
            return None
        (n0, r0), (n1, r1) = self.readings[0], self.readings[-1]
        return per_write((n0, r0.log_bytes), (n1, r1.log_bytes))

    def memory_per_root(self) -> float | None:
        """The server-wide memory figure's change per root written (Redis used_memory)."""
        if len(self.readings) < 2:
            return None
        (n0, r0), (n1, r1) = self.readings[0], self.readings[-1]
        return per_write((n0, r0.memory_bytes), (n1, r1.memory_bytes))

    def unavailable(self) -> list[str]:
        seen: list[str] = []
        for _, r in self.readings:
            seen += [u for u in r.unavailable if u not in seen]
        return seen

    def to_json(self) -> dict[str, Any]:
        fit = self.fit()
        last = self.readings[-1][1] if self.readings else None
        return {"server": self.server, "source": last.source if last else None,
                "readings": [{"roots": n, **r.to_json()} for n, r in self.readings],
                "fit": None if fit is None else fit.to_json(),
                "log_bytes_per_write": _round(self.log_per_write()), "log_scope": last.log_scope if last else None,
                "memory_bytes_per_root": _round(self.memory_per_root()),
                "held_in": last.held_in if last else None, "unavailable": self.unavailable()}


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


@dataclass
class FootprintResult:
    sizes: list[int] = field(default_factory=list)
    stores: dict[str, StoreFootprint] = field(default_factory=dict)
    not_measured: dict[str, str] = field(default_factory=dict)  # store -> why (no Footprint capability)
    projection: Projection | None = None  # -p project=...
    prices: PriceTable | None = None
    index_cost: dict[str, dict[str, Any]] = field(default_factory=dict)  # store -> index_cost.py's findings
    index_cost_missing: dict[str, str] = field(default_factory=dict)  # store -> why its indexes were not timed

    def to_json(self) -> dict[str, Any]:
        stores = {k: v.to_json() for k, v in self.stores.items()}
        out = {"sizes": self.sizes, "stores": stores, "not_measured": self.not_measured, "projection": None,
               "index_cost": self.index_cost, "index_cost_missing": self.index_cost_missing}
        if self.projection is not None and self.prices is not None:
            out["projection"] = project(self.projection, self.prices, stores)
        return out
