"""Capacity search: the highest open-loop rate a store sustains while a latency percentile stays under a target.

After NoSQLBench's findmax: a coarse ramp (the rate multiplied by `factor` while the target holds), then a
binary search between the last rate that held and the first that did not, until they are within
`precision` of each other. A step holds when its percentile (response time from each operation's intended
start, so queueing counts) is under the target, nothing failed, and the client kept its schedule. Every
step is kept: they are the throughput-vs-latency curve.

Whether the store was the limit is a separate question: when the client process or the whole host was
saturated at the first failing step, the capacity found is the harness's or the machine's, and says so.
"""

from __future__ import annotations

import math
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sandbox.errors import UsageError

_SLO = re.compile(r"^p(\d+(?:\.\d+)?)\s*=\s*(\d+(?:\.\d+)?)\s*(us|ms|s)$")
_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


@dataclass(frozen=True)
class Slo:
    percentile: float  # e.g. 99.0
    limit_ms: float

    @classmethod
    def parse(cls, text: str) -> Slo:
        """"p99=50ms", "p99.9=2s", "p50=800us"."""
        m = _SLO.match(text.strip().replace(" ", ""))
        if not m:
            raise UsageError(f"--slo {text!r}: expected a percentile and a time, e.g. p99=50ms (units us, ms, s)")
        percentile, limit = float(m[1]), float(m[2]) * _UNIT_MS[m[3]]
        if not 0 < percentile < 100 or limit <= 0:
            raise UsageError(f"--slo {text!r}: the percentile must be above 0 and below 100, the time positive")
        return cls(percentile, limit)

    def __str__(self) -> str:
        return f"p{self.percentile:g}<={self.limit_ms:g}ms"


@dataclass(frozen=True)
class SearchPlan:
    start_rate: float = 100.0  # operations per second at the first step
    factor: float = 2.0  # coarse ramp: multiply the rate by this while the target holds
    precision: float = 0.1  # stop when the failing rate is within this share above the holding one
    max_rate: float = 1_000_000.0
    min_rate: float = 1.0  # below this, give up: nothing holds
    max_steps: int = 16

    def validated(self) -> SearchPlan:
        if not (self.start_rate > 0 and self.factor > 1 and 0 < self.precision < 1 and self.max_steps >= 2
                and 0 < self.min_rate <= self.start_rate <= self.max_rate):
            raise UsageError("capacity search: need 0 < min_rate <= start_rate <= max_rate, factor > 1, "
                             f"0 < precision < 1 and max_steps >= 2; got {self}")
        return self


@dataclass(frozen=True)
class StepResult:
    """One step of the search at one target rate."""

    rate: float  # target operations per second
    achieved: float | None  # operations per second actually started
    percentile_ms: float | None  # the SLO's percentile of response time; None when nothing answered
    ok: int
    errors: int  # failed or unknown outcome
    flags: tuple[str, ...] = ()  # client-saturated, host-saturated, behind-schedule
    p50_ms: float | None = None
    first_error: str | None = None  # one of the errors, when there were any

    def holds(self, slo: Slo) -> bool:
        return (self.percentile_ms is not None and self.percentile_ms <= slo.limit_ms and self.errors == 0
                and self.ok > 0 and "behind-schedule" not in self.flags)

    def to_json(self, slo: Slo) -> dict[str, Any]:
        return {"rate": round(self.rate, 1), "achieved": None if self.achieved is None else round(self.achieved, 1),
                f"p{slo.percentile:g}_ms": self.percentile_ms, "p50_ms": self.p50_ms, "ok": self.ok,
                "errors": self.errors, "first_error": self.first_error, "flags": list(self.flags),
                "holds": self.holds(slo)}


@dataclass
class CapacityResult:
    store: str
    slo: Slo
    steps: list[StepResult] = field(default_factory=list)
    capacity: float | None = None  # the highest rate that held; None: not even the lowest rate held
    ceiling: float | None = None  # the lowest rate that did not hold; None: max_rate held
    limited_by: str = "store"  # store | client | host: who ran out first at the failing rate(s)

    def to_json(self) -> dict[str, Any]:
        return {"slo": str(self.slo), "capacity_ops_s": None if self.capacity is None else round(self.capacity, 1),
                "first_failing_ops_s": None if self.ceiling is None else round(self.ceiling, 1),
                "limited_by": self.limited_by,
                "curve": [s.to_json(self.slo) for s in sorted(self.steps, key=lambda s: s.rate)]}


Measure = Callable[[float], Awaitable[StepResult]]


async def find_capacity(store: str, measure: Measure, slo: Slo, plan: SearchPlan) -> CapacityResult:
    """Ramp, then bisect; `measure(rate)` runs one step of the load at that rate and reports it."""
    plan = plan.validated()
    result = CapacityResult(store, slo)

    async def step(rate: float) -> bool:
        outcome = await measure(rate)
        result.steps.append(outcome)
        return outcome.holds(slo)

    good: float | None = None
    bad: float | None = None
    rate = plan.start_rate
    if await step(rate):  # coarse ramp up
        good = rate
        while len(result.steps) < plan.max_steps and good < plan.max_rate:
            rate = min(good * plan.factor, plan.max_rate)
            if not await step(rate):
                bad = rate
                break
            good = rate
    else:  # coarse ramp down until something holds
        bad = rate
        while len(result.steps) < plan.max_steps and bad / plan.factor >= plan.min_rate:
            rate = bad / plan.factor
            if await step(rate):
                good = rate
                break
            bad = rate
    while good is not None and bad is not None and len(result.steps) < plan.max_steps \
            and bad - good > plan.precision * good:
        rate = math.sqrt(good * bad) if bad / good > 4 else (good + bad) / 2
        if await step(rate):
            good = rate
        else:
            bad = rate
    result.capacity, result.ceiling = good, bad
    result.limited_by = _limited_by([s for s in result.steps if not s.holds(slo)])
    return result


def _limited_by(failing: list[StepResult]) -> str:
    """Who ran out at the failing steps: the harness process, the whole machine, or (else) the store."""
    if not failing:
        return "store"
    lowest = min(failing, key=lambda s: s.rate)
    if "client-saturated" in lowest.flags:
        return "client"
    if "host-saturated" in lowest.flags:
        return "host"
    return "store"
