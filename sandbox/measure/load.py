"""Load drivers: how operations are issued over time.

Two load models (see docs/measurement.md):

- closed loop: `concurrency` workers, each issuing its next operation as soon as the last one answered.
  Throughput is whatever the store and client reach; a stalled store silently slows the load
  (coordinated omission), so its latency percentiles look better than a user would experience.
- open loop: operations are due at a target rate, evenly spaced (constant) or with exponential gaps
  (Poisson, seeded), whatever the store does. Workers (at most `concurrency` operations in flight,
  like wrk2's connections) pick each operation up at its intended start or, when all are busy, as
  soon as one is free; the wait counts in the response time (YCSB's and wrk2's intended-time
  measurement), so a stall shows in the percentiles it really affects.

Each operation carries two times into `do(item, intended_ns, begun_ns)`: its intended start and
the moment a worker picked it up (before taking the item, so generating the item is client
processing time). Times are time.perf_counter_ns().
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Iterator
from dataclasses import dataclass, replace
from itertools import islice
from typing import Any, Literal, TypeVar

from sandbox.errors import UsageError
from sandbox.measure.stage_syntax import parse_stages
from sandbox.measure.stages import Schedule, Stage, describe, relative, resolve

T = TypeVar("T")

Arrival = Literal["constant", "poisson"]
ARRIVALS: tuple[str, ...] = ("constant", "poisson")
_DONE = object()
_NEVER = 2**63  # a perf_counter_ns() no run reaches


def batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    it = iter(items)
    while chunk := list(islice(it, size)):
        yield chunk


async def closed_loop(work: Iterable[T], do: Callable[[T], Awaitable[object]], concurrency: int) -> float:
    """`concurrency` workers take the next item as soon as their last one is done; returns elapsed seconds.

    Workers share one iterator: next() never awaits, so no item is taken twice.
    """
    it = iter(work)

    async def worker() -> None:
        for item in it:
            await do(item)

    start = time.perf_counter()
    await gather_all(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - start


async def gather_all(*aws: Coroutine[Any, Any, T]) -> list[T]:
    """Like asyncio.gather, but a cancelled run waits for every worker to stop before it goes on.

    gather() returns as soon as its first child is cancelled and leaves the others running for a
    moment: a teardown that follows would race writes still in flight (a Ctrl-C leaving keys behind).
    A TaskGroup waits for all of them; the first error is raised as itself, not as a group.
    """
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(aw) for aw in aws]
    except BaseExceptionGroup as errors:
        raise errors.exceptions[0] from None
    return [task.result() for task in tasks]


async def cancel_and_wait(tasks: Iterable[asyncio.Future[Any]], every_s: float = 0.1) -> None:
    """Cancel the tasks and wait until every one has ended, cancelling again any that goes on.

    Only for tasks with nothing to clean up (probes, samplers, background load): a client library that
    sends through asyncio.wait_for (redis-py does) can swallow a cancellation on Python 3.11 (gh-86296, see
    tests/test_cancellation.py), and a loop that missed its cancel would run on while we wait for it.
    """
    tasks = list(tasks)
    pending = {task for task in tasks if not task.done()}
    while pending:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=every_s)
    for task in tasks:  # retrieved, so asyncio does not log them as never retrieved
        if not task.cancelled():
            task.exception()


@dataclass(frozen=True)
class LoadPlan:
    """How one phase issues its operations: closed loop unless a rate or stages are given."""

    concurrency: int = 8
    rate: float | None = None  # operations per second per store; None: closed loop (or the stages' base: 0)
    arrival: Arrival = "constant"
    warmup_s: float = 0.0  # operations intended to start in the first warmup_s are left out of results
    duration_s: float | None = None  # measured seconds after the warm-up; None: until the work runs out
    seed: int = 0  # for Poisson gaps: the same seed, the same schedule
    # Open-loop stages (sandbox.measure.stages): the rate over time, from `rate` as the base; they set the
    # phase's length (warm-up included), so duration_s is theirs.
    stages: tuple[Stage, ...] = ()

    def __post_init__(self) -> None:
        if not all(isinstance(s, Stage) for s in self.stages):  # as JSON (a worker process's job) or TOML
            object.__setattr__(self, "stages", parse_stages(list(self.stages)))

    def validated(self) -> LoadPlan:
        if self.concurrency <= 0:
            raise UsageError(f"--concurrency must be a positive whole number, got {self.concurrency}")
        if self.rate is not None and not (math.isfinite(self.rate) and self.rate > 0):
            raise UsageError(f"--rate must be a positive number of operations per second, got {self.rate:g}")
        if self.arrival not in ARRIVALS:
            raise UsageError(f"--arrival must be constant or poisson, got {self.arrival!r}")
        if not (math.isfinite(self.warmup_s) and self.warmup_s >= 0):
            raise UsageError(f"--warmup must be zero or a positive number of seconds, got {self.warmup_s:g}")
        if self.duration_s is not None and not (math.isfinite(self.duration_s) and self.duration_s > 0):
            raise UsageError(f"--duration must be a positive number of seconds, got {self.duration_s:g}")
        if not self.stages:
            return self
        total = sum(s.duration_s for s in self.stages)
        if self.rate is not None or not relative(self.stages):  # else the rate comes later (a capacity step's)
            self.schedule()  # every rate checked now: an amplitude above its mean, nothing ever due
        if self.warmup_s >= total:
            raise UsageError(f"--warmup {self.warmup_s:g} s is not shorter than the stages ({total:g} s in all: "
                             f"{describe(self.stages)})")
        measured = total - self.warmup_s
        if self.duration_s is not None and abs(self.duration_s - measured) > 1e-6:
            raise UsageError(f"--duration and --stages both set the phase's length: the stages last {total:g} s "
                             f"({measured:g} s after the warm-up); leave out --duration")
        return replace(self, duration_s=measured)

    @property
    def open(self) -> bool:
        return self.rate is not None or bool(self.stages)

    def schedule(self) -> Schedule:
        """The stages with their rates made absolute (relative ones against `rate`)."""
        return resolve(self.stages, self.rate)

    @property
    def target_rate(self) -> float | None:
        """Operations per second asked for over the measured window (the stages' mean after the warm-up)."""
        if not self.stages:
            return self.rate
        return self.schedule().mean_rate(self.warmup_s)

    def scaled(self, factor: float) -> LoadPlan:
        """The same plan at `factor` of its rates (one load worker's share)."""
        return replace(self, rate=None if self.rate is None else self.rate * factor,
                       stages=tuple(s.scaled(factor) for s in self.stages))

    @property
    def grace_s(self) -> float:
        """How long past the end a late open-loop schedule may still send; what is left is 'missed'."""
        return max(1.0, 0.25 * (self.duration_s or 0.0))


@dataclass
class LoadResult:
    """What the driver saw of one phase against one store (times in perf_counter_ns)."""

    started_ns: int
    measure_from_ns: int
    end_ns: int | None  # end of the measured window when duration-limited
    finished_ns: int = 0  # last operation answered
    measured: int = 0  # of those, the ones intended at or after the warm-up
    missed: int = 0  # open loop: due before the end but never sent (the client fell too far behind)
    lag_sum_ns: int = 0  # waiting: picked up minus intended, over measured operations
    lag_max_ns: int = 0
    last_begun_ns: int = 0  # open loop only (for started_rate)

    @property
    def measured_s(self) -> float:
        return max(0.0, (self.finished_ns - self.measure_from_ns) / 1e9)

    @property
    def started_rate(self) -> float | None:
        """Measured operations started per second, from the end of the warm-up to the last start."""
        span = (self.last_begun_ns - self.measure_from_ns) / 1e9
        return self.measured / span if self.measured > 1 and span > 0 else None

    @property
    def lag_mean_ms(self) -> float:
        return self.lag_sum_ns / self.measured / 1e6 if self.measured else 0.0


def arrivals(plan: LoadPlan, start_ns: int) -> Iterator[int]:
    """Intended start times: start, then every 1/rate s (constant) or exponential gaps (Poisson); with
    stages, the times their rates give (stages.py), each computed from the start, never by adding gaps."""
    if plan.stages:
        for t in plan.schedule().times(plan.arrival, plan.seed):
            yield start_ns + round(t * 1e9)
        while True:  # the stages are over: nothing more is due before the end
            yield _NEVER
    assert plan.rate is not None
    if plan.arrival == "constant":
        step = 1e9 / plan.rate
        k = 0
        while True:
            yield start_ns + int(k * step)
            k += 1
    rng = random.Random(plan.seed)
    at = float(start_ns)
    while True:
        yield int(at)
        at += rng.expovariate(plan.rate) * 1e9


async def drive(work: Iterable[T], do: Callable[[T, int, int], Awaitable[object]], plan: LoadPlan,
                on_start: Callable[[LoadResult], None] | None = None) -> LoadResult:
    """Issue `work` under `plan`; `on_start` sees the result's times before the first operation."""
    if plan.stages:
        plan = plan.validated()  # the stages' length is the phase's
    clock = time.perf_counter_ns
    it = iter(work)
    start = clock()
    measure_from = start + int(plan.warmup_s * 1e9)
    end = measure_from + int(plan.duration_s * 1e9) if plan.duration_s is not None else None
    deadline = end + int(plan.grace_s * 1e9) if end is not None else None
    result = LoadResult(start, measure_from, end)
    if on_start is not None:
        on_start(result)
    schedule = arrivals(plan, start) if plan.open else None
    stopped = False

    def take(intended: int, begun: int) -> object:
        item = next(it, _DONE)
        if item is not _DONE:
            result.last_begun_ns = begun
            if intended >= measure_from:
                result.measured += 1
                lag = begun - intended
                result.lag_sum_ns += lag
                if lag > result.lag_max_ns:
                    result.lag_max_ns = lag
        return item

    async def closed_worker() -> None:
        # The hot loop of a throughput run, kept to the bare minimum (see docs/measurement.md, Benchmarks):
        # no schedule, so no lag to add up (waiting is zero by definition); counts stay in locals.
        stop = end if end is not None else _NEVER
        measured = 0
        try:
            while (begun := clock()) < stop:
                item = next(it, _DONE)
                if item is _DONE:
                    return
                if begun >= measure_from:
                    measured += 1
                await do(item, begun, begun)  # type: ignore[arg-type]
        finally:
            result.measured += measured

    async def open_worker() -> None:
        nonlocal stopped
        assert schedule is not None
        while not stopped:  # stopped: no more operations to take (work done, end reached, or too late)
            intended = next(schedule)
            if end is not None and intended >= end:
                stopped = True
                return
            now = clock()
            if intended > now:
                await asyncio.sleep((intended - now) / 1e9)
            begun = clock()
            if deadline is not None and begun > deadline:
                stopped = True
                result.missed += 1  # due before the end, but the client is too far behind to send it
                return
            item = take(intended, begun)
            if item is _DONE:
                stopped = True
                return
            await do(item, intended, begun)  # type: ignore[arg-type]

    worker = open_worker if plan.open else closed_worker
    await gather_all(*(worker() for _ in range(plan.concurrency)))
    if schedule is not None and end is not None and result.missed:
        # Everything else still due before the end was never sent either: count it, do not drop it.
        for intended in schedule:
            if intended >= end:
                break
            result.missed += 1
    result.finished_ns = clock()
    return result
