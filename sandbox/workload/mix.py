"""A workload mix: which operations, in which proportions, over which keys (YCSB's core workload, on orders).

Operation names are YCSB's and a shop's:

| name      | what the store does                                                    |
|-----------|------------------------------------------------------------------------|
| read      | one order by id                                                        |
| update    | move an order to its next lifecycle status, gated by a version         |
| insert    | write a new order                                                      |
| scan      | the orders created in a short time range (YCSB E: up to scan_max)      |
| latest    | a customer's latest N orders (secondary index)                         |
| decrement | take the stock for an order's items (read-modify-write, never below 0) |
| rmw       | read an order, then update it (YCSB F)                                 |
| browse    | a customer's latest N orders (the shop's word for `latest`)            |
| place     | write a new pending order and take its stock                           |
| pay       | a pending order becomes confirmed                                      |
| ship      | a confirmed order becomes shipped                                      |
| cancel    | a pending or confirmed order becomes cancelled                         |
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sandbox.errors import UsageError
from sandbox.workload.distributions import KeyDistribution

OPERATIONS = ("read", "update", "insert", "scan", "latest", "decrement", "rmw",
              "browse", "place", "pay", "ship", "cancel")


@dataclass(frozen=True)
class MixSpec:
    """Proportions sum to 1, in the order given (that order is part of the seeded stream)."""

    proportions: tuple[tuple[str, float], ...]
    distribution: KeyDistribution = field(default_factory=KeyDistribution)
    scan_max: int = 100  # a scan covers 1..scan_max orders' time slots (uniform), as YCSB E
    latest_n: int = 10  # how many orders `latest` / `browse` ask for
    # Reads and updates only pick orders inserted at least this many operations earlier, so they
    # rarely race the insert that creates their order (YCSB keeps an acknowledged-insert counter).
    settle_ops: int = 64

    def validated(self) -> MixSpec:
        self.distribution.validated()
        if not self.proportions:
            raise UsageError("the mix names no operations; e.g. mix = \"read=50,update=50\"")
        for name, share in self.proportions:
            if name not in OPERATIONS:
                raise UsageError(f"unknown operation {name!r} in the mix: choose from {', '.join(OPERATIONS)}")
            if not (math.isfinite(share) and share >= 0):
                raise UsageError(f"operation {name!r}: share must be zero or positive, got {share:g}")
        if not math.isclose(sum(s for _, s in self.proportions), 1.0, rel_tol=1e-9):
            raise UsageError("mix shares must be normalised; build the spec with parse_mix()")
        for key in ("scan_max", "latest_n"):
            if getattr(self, key) < 1:
                raise UsageError(f"{key} must be a positive whole number, got {getattr(self, key)}")
        if self.settle_ops < 0:
            raise UsageError(f"settle_ops must be zero or positive, got {self.settle_ops}")
        return self

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(name for name, share in self.proportions if share > 0)

    def to_json(self) -> dict[str, Any]:
        d = self.distribution
        return {"proportions": dict(self.proportions), "distribution": d.name, "skew": d.skew,
                "hot_fraction": d.hot_fraction, "hot_share": d.hot_share, "scan_max": self.scan_max,
                "latest_n": self.latest_n, "settle_ops": self.settle_ops}


def parse_proportions(mix: str | Mapping[str, Any]) -> tuple[tuple[str, float], ...]:
    """`{read = 50, update = 50}` (a TOML table) or "read=50,update=50" (a command line) -> shares of 1."""
    if isinstance(mix, str):
        pairs: list[tuple[str, Any]] = []
        for part in filter(None, (p.strip() for p in mix.split(","))):
            name, sep, value = part.partition("=")
            if not sep:
                raise UsageError(f"mix {mix!r}: expected name=share pairs, e.g. \"read=95,update=5\"")
            pairs.append((name.strip(), value.strip()))
    elif isinstance(mix, Mapping):
        pairs = list(mix.items())
    else:
        raise UsageError(f"mix must be a table or \"name=share,...\" text, got {mix!r}")
    shares: list[tuple[str, float]] = []
    for name, value in pairs:
        try:
            share = float(value)
        except (TypeError, ValueError):
            raise UsageError(f"mix: share of {name!r} must be a number, got {value!r}") from None
        if not (math.isfinite(share) and share >= 0):
            raise UsageError(f"mix: share of {name!r} must be zero or positive, got {value!r}")
        shares.append((name, share))
    total = sum(s for _, s in shares)
    if total <= 0:
        raise UsageError(f"mix {mix!r}: the shares add up to nothing; give at least one positive share")
    return tuple((name, share / total) for name, share in shares)


def parse_mix(mix: str | Mapping[str, Any], distribution: str = "uniform", skew: float = 0.99,
              hot_fraction: float = 0.2, hot_share: float = 0.8, scan_max: int = 100, latest_n: int = 10,
              settle_ops: int = 64) -> MixSpec:
    """A validated MixSpec from scenario or command-line values (raises UsageError with the fix)."""
    if isinstance(mix, str) and mix.lstrip().startswith("{"):  # `-p mix={read=95,update=5}` arrives as text
        try:
            mix = tomllib.loads(f"v = {mix}")["v"]
        except tomllib.TOMLDecodeError:
            raise UsageError(f"mix {mix!r}: not a valid TOML table; e.g. {{read = 95, update = 5}}") from None
    dist = KeyDistribution(distribution, float(skew), float(hot_fraction), float(hot_share))
    return MixSpec(parse_proportions(mix), dist, int(scan_max), int(latest_n), int(settle_ops)).validated()
