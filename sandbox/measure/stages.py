"""Load shapes: open-loop stages (ramp, step, hold, spike, sine) and the exact intended start times they give.

A stage list changes the open loop's rate over time, as k6's stages do. Each stage lasts `duration_s`:

- `ramp:10s:200`   the rate goes linearly from the one before to 200/s;
- `step:20s:50`    the rate jumps to 50/s and stays there;
- `hold:30s`       the rate before stays;
- `spike:2s:1000`  1000/s, then back to the rate before the spike;
- `sine:60s:200:100:20s`  200/s ± 100/s, a period of 20 s (starting at the mean, rising); 200/s after.

A rate is operations per second, or `xN`: N times the base rate (`--rate`, or the rate a capacity step tries).
Before the first stage the rate is the base rate (0 without one).

Intended start times come from the cumulative rate Λ(t) = ∫λ: the k-th operation (from 0) is due at the first
t with Λ(t) > k (constant arrivals) or Λ(t) > S_k, S_k a sum of k unit exponential gaps (Poisson, by time
rescaling). Each time is computed from the stage list, never by adding gaps, so no error accumulates: a ramp's
times are a square root, a sine's a safeguarded Newton step to the nanosecond.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sandbox.errors import UsageError

SHAPES = ("ramp", "step", "hold", "spike", "sine")


@dataclass(frozen=True)
class Rate:
    """Operations per second, or (relative) a multiple of the base rate."""

    value: float
    relative: bool = False

    def of(self, base: float) -> float:
        return self.value * base if self.relative else self.value

    def __str__(self) -> str:
        return f"x{self.value:g}" if self.relative else f"{self.value:g}"


@dataclass(frozen=True)
class Stage:
    shape: str
    duration_s: float
    to: Rate | None = None  # ramp / step / spike: the rate; sine: the mean (None: the rate before)
    amplitude: Rate | None = None  # sine only
    period_s: float | None = None  # sine only

    def __str__(self) -> str:
        parts = [self.shape, f"{self.duration_s:g}s"]
        if self.to is not None:
            parts.append(str(self.to))
        if self.shape == "sine":
            parts += [str(self.amplitude), f"{self.period_s:g}s"]
        return ":".join(parts)

    def scaled(self, factor: float) -> Stage:
        """Absolute rates times `factor` (a load worker's share); relative ones follow the base rate anyway."""
        def s(r: Rate | None) -> Rate | None:
            return r if r is None or r.relative else Rate(r.value * factor)
        return replace(self, to=s(self.to), amplitude=s(self.amplitude))


@dataclass(frozen=True)
class Segment:
    """One stage with its rates resolved: λ(u) = r0 + (r1 - r0) u / D (linear) or mean + amp·sin(2πu/P)."""

    label: str
    start_s: float
    duration_s: float
    r0: float  # linear: the rate at the start; sine: the mean
    r1: float  # linear: the rate at the end; sine: the amplitude
    period_s: float | None = None  # set: a sine
    before: float = 0.0  # Λ at the segment's start

    @property
    def end_s(self) -> float:
        return self.start_s + self.duration_s

    def rate_at(self, u: float) -> float:
        if self.period_s is not None:
            return self.r0 + self.r1 * math.sin(2 * math.pi * u / self.period_s)
        return self.r0 + (self.r1 - self.r0) * u / self.duration_s if self.duration_s else self.r0

    def cumulative(self, u: float) -> float:
        """Λ(start + u) - Λ(start): operations due in the first u seconds of the segment."""
        if self.period_s is not None:
            w = 2 * math.pi / self.period_s
            return self.r0 * u + self.r1 / w * (1 - math.cos(w * u))
        return self.r0 * u + (self.r1 - self.r0) * u * u / (2 * self.duration_s) if self.duration_s else 0.0

    @property
    def total(self) -> float:
        return self.cumulative(self.duration_s)

    def inverse(self, y: float) -> float:
        """The u in [0, D] with cumulative(u) = y (0 <= y <= total)."""
        if self.period_s is None:
            a = (self.r1 - self.r0) / (2 * self.duration_s)
            root = math.sqrt(max(0.0, self.r0 * self.r0 + 4 * a * y))
            return min(self.duration_s, 2 * y / (self.r0 + root)) if self.r0 + root > 0 else 0.0
        lo, hi, u = 0.0, self.duration_s, y / self.r0 if self.r0 > 0 else 0.0
        for _ in range(100):  # Newton inside a shrinking bracket: λ may touch 0, where Newton alone stalls
            u = min(max(u, lo), hi)
            f = self.cumulative(u) - y
            if abs(f) < 1e-9:
                break
            if f > 0:
                hi = u
            else:
                lo = u
            slope = self.rate_at(u)
            step = u - f / slope if slope > 0 else (lo + hi) / 2
            u = step if lo < step < hi else (lo + hi) / 2
            if hi - lo < 1e-10:
                break
        return u


@dataclass(frozen=True)
class Schedule:
    """A stage list resolved against a base rate: the segments, back to back from 0."""

    segments: tuple[Segment, ...]

    @property
    def total_s(self) -> float:
        return self.segments[-1].end_s if self.segments else 0.0

    def due(self, t: float) -> float:
        """Λ(t): operations due from 0 to t seconds."""
        for seg in self.segments:
            if t < seg.end_s:
                return seg.before + seg.cumulative(max(0.0, t - seg.start_s))
        return self.segments[-1].before + self.segments[-1].total if self.segments else 0.0

    def rate_at(self, t: float) -> float:
        for seg in self.segments:
            if t < seg.end_s:
                return seg.rate_at(t - seg.start_s)
        return 0.0

    def stage_at(self, t: float) -> Segment | None:
        return next((seg for seg in self.segments if t < seg.end_s), None)

    def time_of(self, y: float) -> float | None:
        """The first t with Λ(t) > y (where the cumulative rate passes y), or None past the last stage."""
        for seg in self.segments:
            if seg.before + seg.total > y:
                return seg.start_s + seg.inverse(y - seg.before)
        return None

    def times(self, arrival: str = "constant", seed: int = 0) -> Iterator[float]:
        """Intended start times in seconds from the schedule's start, until the last stage ends."""
        rng = random.Random(seed)
        k, y = 0, 0.0
        while (t := self.time_of(float(k) if arrival == "constant" else y)) is not None and t < self.total_s:
            yield t
            k += 1
            y += rng.expovariate(1.0) if arrival != "constant" else 0.0

    def mean_rate(self, from_s: float) -> float:
        """Operations per second due from `from_s` to the end (the target a run is held to)."""
        span = self.total_s - from_s
        return (self.due(self.total_s) - self.due(from_s)) / span if span > 0 else 0.0

    def marks(self) -> list[dict[str, Any]]:
        """Each stage's start, end and label, for the timeline and the report."""
        return [{"stage": seg.label, "start_s": round(seg.start_s, 6), "end_s": round(seg.end_s, 6),
                 "rate_start": round(seg.rate_at(0.0), 3), "rate_end": round(seg.rate_at(seg.duration_s), 3),
                 "due": round(seg.total, 3)}
                for seg in self.segments]


def resolve(stages: Sequence[Stage], base: float | None) -> Schedule:
    """The stages' rates made absolute (relative ones against `base`), laid end to end."""
    base_rate = base or 0.0
    current, start, before, out = base_rate, 0.0, 0.0, []
    for i, st in enumerate(stages, 1):
        to = st.to.of(base_rate) if st.to is not None else None
        if st.shape == "sine":
            mean = to if to is not None else current
            amp = st.amplitude.of(base_rate) if st.amplitude is not None else 0.0
            if amp > mean:
                raise UsageError(f"stage {i} ({st}): the amplitude {amp:g}/s is above the mean {mean:g}/s "
                                 "(the rate would go below zero)")
            seg = Segment(f"sine {mean:g}±{amp:g}/s every {st.period_s:g}s", start, st.duration_s, mean, amp,
                          st.period_s, before)
            current = mean
        elif st.shape == "ramp":
            assert to is not None
            seg = Segment(f"ramp {current:g}→{to:g}/s", start, st.duration_s, current, to, None, before)
            current = to
        elif st.shape == "hold":
            seg = Segment(f"hold {current:g}/s", start, st.duration_s, current, current, None, before)
        else:  # step, spike
            assert to is not None
            seg = Segment(f"{st.shape} {to:g}/s", start, st.duration_s, to, to, None, before)
            current = to if st.shape == "step" else current
        out.append(seg)
        start, before = seg.end_s, before + seg.total
    if stages and before <= 0:
        raise UsageError(f"--stages {', '.join(map(str, stages))}: no operation is ever due (every stage's rate "
                         "is 0; give --rate or a stage with a rate above 0)")
    return Schedule(tuple(out))


def relative(stages: Sequence[Stage]) -> list[Stage]:
    """The stages with a rate given as xN (of the base rate)."""
    return [s for s in stages if any(r is not None and r.relative for r in (s.to, s.amplitude))]


def absolute(stages: Sequence[Stage]) -> list[Stage]:
    """The stages with a rate of their own (operations per second)."""
    return [s for s in stages if any(r is not None and not r.relative for r in (s.to, s.amplitude))]


def needs_base(stages: Sequence[Stage], base: float | None) -> str | None:
    """Why these stages cannot run at this base rate (relative ones without --rate), or None."""
    if base is None and (rel := relative(stages)):
        return (f"stage {rel[0]} is relative (xN times --rate) and there is no --rate: give --rate, or rates in "
                "operations per second")
    return None


def describe(stages: Sequence[Stage]) -> str:
    return ", ".join(map(str, stages))
