"""Bytes per entity as a straight line: held bytes = fixed + per_entity x roots, by ordinary least squares over
the readings at the run's sizes, with the fit's residual (what the line does not explain) beside it."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Fit:
    fixed: float  # bytes at zero roots (the design, reference data, page / allocation granularity)
    per_entity: float  # bytes each further root instance (with its owned children) takes
    residual: float  # root mean square of (measured - fitted), bytes; 0 with two points (a line fits exactly)
    points: int

    def to_json(self) -> dict[str, float | int]:
        return {"fixed_bytes": round(self.fixed), "per_entity_bytes": round(self.per_entity, 1),
                "residual_bytes": round(self.residual, 1), "points": self.points}


def fit_line(points: Sequence[tuple[int, int]]) -> Fit | None:
    """(roots, bytes) pairs -> the least-squares line; None with fewer than two distinct sizes (no line)."""
    xs = [float(x) for x, _ in points]
    ys = [float(y) for _, y in points]
    n = len(points)
    if len(set(xs)) < 2:
        return None
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx
    fixed = my - slope * mx
    rms = math.sqrt(sum((y - fixed - slope * x) ** 2 for x, y in zip(xs, ys, strict=True)) / n)
    return Fit(fixed, slope, rms, n)


def per_write(before: tuple[int, int | None], after: tuple[int, int | None]) -> float | None:
    """A log's bytes per logical write between two readings ((roots, log bytes)); None when either is unknown
    or no root was written between them."""
    (n0, b0), (n1, b1) = before, after
    if b0 is None or b1 is None or n1 <= n0:
        return None
    return (b1 - b0) / (n1 - n0)
