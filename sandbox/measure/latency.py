"""Latency recording with HdrHistogram: 1 us to 60 s at 3 significant digits, merged exactly."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

from hdrh.histogram import HdrHistogram

LOWEST_US, HIGHEST_US, DIGITS = 1, 60_000_000, 3
PERCENTILES = (50.0, 90.0, 99.0, 99.9)


def new_histogram() -> HdrHistogram:
    return HdrHistogram(LOWEST_US, HIGHEST_US, DIGITS)


def record_us(hist: HdrHistogram, nanoseconds: int) -> None:
    # Clamp into range: a sub-microsecond no-op still counts as 1 us, a stall past 60 s as 60 s.
    hist.record_value(min(max(nanoseconds // 1000, LOWEST_US), HIGHEST_US))


def summarize(hist: HdrHistogram) -> dict[str, float | None]:
    """min / percentiles / max in milliseconds (None when nothing was recorded)."""
    if hist.get_total_count() == 0:
        return {"min": None, **{f"p{p:g}": None for p in PERCENTILES}, "max": None}
    ms = 1000.0
    out: dict[str, float | None] = {"min": hist.get_min_value() / ms}
    for p in PERCENTILES:
        out[f"p{p:g}"] = hist.get_value_at_percentile(p) / ms
    out["max"] = hist.get_max_value() / ms
    return out


def encode(hist: HdrHistogram) -> str:
    """The whole histogram, compressed, so every percentile can be plotted later."""
    return base64.b64encode(hist.encode()).decode() if hist.get_total_count() else ""


@dataclass
class OpStats:
    """Outcomes and latency of one kind of operation against one store."""

    latency: HdrHistogram = field(default_factory=new_histogram)
    ok: int = 0
    failed: int = 0  # the store answered with an error
    unknown: int = 0  # timed out or lost the connection: the write may or may not have landed
    items: int = 0  # orders carried by the successful operations (batches carry several)
    first_errors: list[str] = field(default_factory=list)
    elapsed_s: float = 0.0  # wall time of the phase the operations ran in

    def note_error(self, exc: BaseException) -> None:
        if len(self.first_errors) < 3:
            text = str(exc).splitlines()[0][:200] if str(exc) else ""
            self.first_errors.append(f"{type(exc).__name__}: {text}".rstrip(": "))

    def merge(self, other: OpStats) -> None:
        self.latency.add(other.latency)
        self.ok += other.ok
        self.failed += other.failed
        self.unknown += other.unknown
        self.items += other.items
        self.first_errors = (self.first_errors + other.first_errors)[:3]
        self.elapsed_s = max(self.elapsed_s, other.elapsed_s)

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok, "failed": self.failed, "unknown": self.unknown, "orders": self.items,
            "elapsed_s": round(self.elapsed_s, 3),
            "throughput_ops_s": round(self.ok / self.elapsed_s, 1) if self.elapsed_s else None,
            "throughput_orders_s": round(self.items / self.elapsed_s, 1) if self.elapsed_s else None,
            "latency_ms": summarize(self.latency), "first_errors": self.first_errors,
            "hdr": encode(self.latency),
        }
