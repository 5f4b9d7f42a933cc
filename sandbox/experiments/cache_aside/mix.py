"""A read-heavy Zipfian mix against one cache policy, and what it did: hits, staleness, stampedes, load.

Workers run closed-loop for a fixed time. Each operation picks a key by Zipf rank (rank 0 is the hot
key) and reads it through the policy or, with probability 1 - read_ratio, writes it (the root instance at
its next version, in the origin). A read is stale when the version it returned is older than the newest
version the origin had acknowledged when the read began.
"""

from __future__ import annotations

import asyncio
import bisect
import functools
import itertools
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from hdrh.histogram import HdrHistogram

from sandbox.experiments.cache_aside.origin import Origin, Value
from sandbox.experiments.cache_aside.policies import Policy
from sandbox.measure.latency import new_histogram
from sandbox.measure.timing import LabelledTimer

READ_LABELS = ("hit", "waited", "early", "miss", "fallback")


@dataclass(frozen=True)
class Mix:
    keys: int = 1000
    read_ratio: float = 0.95
    zipf: float = 1.0  # exponent s: P(rank r) ∝ 1 / (r + 1)^s
    concurrency: int = 16
    duration_s: float = 10.0
    seed: int = 1


class Zipf:
    """Ranks 0..n-1 with P(r) ∝ 1/(r+1)^s, drawn by bisecting the cumulative weights."""

    def __init__(self, n: int, s: float):
        self.cdf = list(itertools.accumulate(1.0 / (r + 1) ** s for r in range(n)))

    def rank(self, rng: random.Random) -> int:
        return min(bisect.bisect_left(self.cdf, rng.random() * self.cdf[-1]), len(self.cdf) - 1)


@dataclass(frozen=True)
class Second:
    """One second of a run with a fault: how reads fared."""

    t: int
    reads: int
    hits: int
    fallbacks: int
    origin_loads: int
    p50_ms: float | None
    p99_ms: float | None
    event: str = ""


@dataclass
class PolicyOutcome:
    policy: str
    description: str
    timer: LabelledTimer
    elapsed_s: float
    stale: int
    origin_loads: int
    writes: int
    hot_episodes: list[int]  # origin loads per episode of the hottest key
    episodes: int  # load episodes over all keys
    xact: int | None = None  # the origin's own count of transactions over the run (pg_stat_database's)
    writes_refused: int = 0  # writes a concurrent write of the same key and version got in before
    timeline: list[Second] = field(default_factory=list)
    faults: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "policy": self.policy, "description": self.description, "elapsed_s": round(self.elapsed_s, 3),
            "reads": self.reads, "hit_ratio": self.hit_ratio, "stale_reads": self.stale, "stale_rate": self.stale_rate,
            "origin_loads": self.origin_loads, "writes": self.writes, "writes_refused": self.writes_refused,
            "hot_key_loads_per_expiry": self.hot_episodes,
            "load_episodes": self.episodes, "pg_transactions": self.xact,
            "origin_queries_per_s": round((self.origin_loads + self.writes) / self.elapsed_s, 1),
            "labels": {label: stats.to_json(self.elapsed_s) for label, stats in self.timer.stats.items()},
            "timeline": [vars(s) for s in self.timeline], "faults": self.faults,
        }

    def count(self, *labels: str) -> int:
        return sum(self.timer.stats[label].ok for label in labels if label in self.timer.stats)

    @property
    def reads(self) -> int:
        return self.count(*READ_LABELS)

    @property
    def hit_ratio(self) -> float | None:
        """Reads answered by the cache without this reader querying the origin."""
        return self.count("hit", "waited") / self.reads if self.reads else None

    @property
    def stale_rate(self) -> float | None:
        return self.stale / self.reads if self.reads else None

    def merged(self, *labels: str) -> HdrHistogram:
        hist = new_histogram()
        for label in labels:
            if label in self.timer.stats:
                hist.add(self.timer.stats[label].latency)
        return hist


Fault = Callable[[], Awaitable[str]]


async def run_policy(policy: Policy, origin: Origin, mix: Mix, ids: Sequence[str],
                     faults: Sequence[tuple[float, str, Fault]] = ()) -> PolicyOutcome:
    """Drive the mix for mix.duration_s; faults: (at seconds, label, action) applied during the run,
    which also records a per-second timeline."""
    zipf = Zipf(min(mix.keys, len(ids)), mix.zipf)
    timer = LabelledTimer()
    stale = 0
    loads0, writes0, refused0 = origin.loads, origin.writes, origin.refused
    episodes0 = {k: len(v) for k, v in origin.episodes.sizes.items()}
    started = time.monotonic()
    stop = started + mix.duration_s

    async def worker(w: int) -> None:
        nonlocal stale
        rng = random.Random(f"{mix.seed}:{policy.name}:{w}")
        while time.monotonic() < stop:
            key = ids[zipf.rank(rng)]
            if rng.random() < mix.read_ratio:
                want = origin.version_now(key)
                value: Value | None = await timer.call(functools.partial(policy.read, key))
                if value is not None and value.version < want:
                    stale += 1
            else:
                await timer.call(functools.partial(_labelled, "write", policy.write, key))

    applied: list[str] = []
    timeline: list[Second] = []
    watchers = [asyncio.create_task(_apply_faults(faults, started, applied))] if faults else []
    if faults:
        watchers.append(asyncio.create_task(_seconds(timer, origin, started, stop, applied, timeline)))
    try:
        await asyncio.gather(*(worker(w) for w in range(mix.concurrency)))
    finally:
        for task in watchers:
            await task
    elapsed = time.monotonic() - started
    hot = ids[0]
    return PolicyOutcome(
        policy.name, policy.description, timer, elapsed, stale, origin.loads - loads0, origin.writes - writes0,
        origin.episodes.of(hot)[episodes0.get(hot, 0):],
        sum(len(v) - episodes0.get(k, 0) for k, v in origin.episodes.sizes.items()),
        writes_refused=origin.refused - refused0, timeline=timeline, faults=applied)


async def _labelled(label: str, fn: Callable[..., Awaitable[None]], *args: str) -> tuple[str, None]:
    await fn(*args)
    return label, None


async def _apply_faults(faults: Sequence[tuple[float, str, Fault]], started: float, applied: list[str]) -> None:
    for at_s, label, action in sorted(faults, key=lambda f: f[0]):
        await asyncio.sleep(max(0.0, started + at_s - time.monotonic()))
        detail = await action()
        applied.append(f"{time.monotonic() - started:.1f} s: {label} ({detail})")


async def _seconds(timer: LabelledTimer, origin: Origin, started: float, stop: float, applied: list[str],
                   out: list[Second]) -> None:
    """Every second: that second's reads, hits, fallbacks, origin loads and read latency."""
    loads, events = origin.loads, 0
    t = 0
    while time.monotonic() < stop:
        t += 1
        await asyncio.sleep(max(0.0, started + t - time.monotonic()))
        hist, counts = new_histogram(), {}
        for label in READ_LABELS:
            if label in timer.stats:
                interval, _ = timer.stats[label].take_interval()
                counts[label] = interval.get_total_count()
                hist.add(interval)
        reads = hist.get_total_count()
        p50 = hist.get_value_at_percentile(50) / 1000 if reads else None
        p99 = hist.get_value_at_percentile(99) / 1000 if reads else None
        out.append(Second(t, reads, counts.get("hit", 0) + counts.get("waited", 0), counts.get("fallback", 0),
                          origin.loads - loads, p50, p99, "; ".join(applied[events:])))
        loads, events = origin.loads, len(applied)
