"""What a reader of a replica sees: replication lag from the client side, stale and non-monotonic reads.

One marker loop per store: a marker (a root instance of the run's model) is written to the primary through the
writer's TimedStore, and the reader then reads it on its read route until it is there:

- lag = the answer of the first read that found it - the write's acknowledgement (HdrHistogram), 0 when
  the first read after the ack found it; so its resolution is one read round trip;
- a read-your-own-write miss = that first read, sent right after the ack, did not find it;
- a monotonic-read violation = before each new marker, the reader reads the previous marker again,
  which an earlier read already saw: not finding it is a read going back in time (a balanced route
  that alternates replica and primary shows it; a single replica never does).

Meanwhile the servers' own figure is sampled (Replication.lag: pg_stat_replication, INFO offsets),
and an optional background load keeps the primary busy. Reads that fail (replica paused, killed) are
counted, and fall back to the primary when the route says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from hdrh.histogram import HdrHistogram

from sandbox.measure.latency import new_histogram, record_us, summarize
from sandbox.measure.load import cancel_and_wait
from sandbox.measure.timing import TimedStore
from sandbox.stores.replication import ServerLag
from sandbox.workload.dataset import Instance

ROUTES = ("replica", "fallback", "balanced")  # replica only | replica, primary when it fails | alternate
READ_PAUSE_S = 0.0005  # between reads of one marker
MARKER_GAP_S = 0.002  # between one marker's ack and the next marker's write
PROBES = 8  # markers probed at once (the replica reader's pool has PROBES + 2 connections)
SERVER_SAMPLE_S = 0.1


@dataclass
class ReplicaReads:
    """One store's replica under one guarantee: the client's view and the servers' figure."""

    store: str
    guarantee: str
    route: str
    lag: HdrHistogram = field(default_factory=new_histogram)
    markers: int = 0
    stale_first_reads: int = 0  # read-your-own-write misses
    never_visible: int = 0
    monotonic_checks: int = 0
    monotonic_violations: int = 0
    replica_reads: int = 0
    replica_read_errors: int = 0
    fallback_reads: int = 0  # sent to the primary after the replica failed
    timeline: list[tuple[float, float]] = field(default_factory=list)  # (ack s since start, lag s)
    server: list[ServerLag] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)

    @property
    def stale_rate(self) -> float | None:
        return self.stale_first_reads / self.markers if self.markers else None

    def server_summary(self) -> dict[str, Any]:
        """Median and max of each figure the servers reported while the markers ran."""
        out: dict[str, Any] = {"samples": len(self.server), "detail": self.server[-1].detail if self.server else ""}
        for name in ("replay_s", "write_s", "flush_s", "lag_bytes"):
            values = [v for s in self.server if (v := getattr(s, name)) is not None]
            out[name] = {"median": statistics.median(values), "max": max(values)} if values else None
        return out

    def recovery_s(self, resumed_at: float, baseline_s: float) -> float | None:
        """Seconds from `resumed_at` (time.monotonic) until a marker acknowledged after it was visible
        within `baseline_s`: the replica caught up. None when none did."""
        since = resumed_at - self.started
        for acked, lag in self.timeline:
            if acked >= since and lag <= baseline_s:
                return acked + lag - since
        return None

    def to_json(self) -> dict[str, Any]:
        return {"guarantee": self.guarantee, "route": self.route, "markers": self.markers,
                "lag_ms": summarize(self.lag), "stale_read_your_writes": self.stale_first_reads,
                "stale_rate": self.stale_rate, "never_visible": self.never_visible,
                "monotonic_checks": self.monotonic_checks, "monotonic_violations": self.monotonic_violations,
                "replica_reads": self.replica_reads, "replica_read_errors": self.replica_read_errors,
                "fallback_reads": self.fallback_reads, "server_lag": self.server_summary()}


class Reader:
    """Reads by id along a route; counts what the replica failed and where reads went instead."""

    def __init__(self, replica: TimedStore, primary: TimedStore | None, route: str, stats: ReplicaReads):
        self.replica, self.primary, self.route, self.stats = replica, primary, route, stats
        self._turn = 0

    async def sees(self, key: Any) -> bool | None:
        """Whether the instance is there; None when no node answered."""
        self._turn += 1
        if self.route == "balanced" and self.primary is not None and self._turn % 2 == 0:
            ok, record = await self.primary.read(key)
            return record is not None if ok else None
        self.stats.replica_reads += 1
        ok, record = await self.replica.read(key)
        if ok:
            return record is not None
        self.stats.replica_read_errors += 1
        if self.route == "fallback" and self.primary is not None:
            self.stats.fallback_reads += 1
            ok, record = await self.primary.read(key)
            return record is not None if ok else None
        return None


async def follow(writer: TimedStore, reader: Reader, markers: Iterable[Instance], timeout_s: float,
                 server_lag: Callable[[], Awaitable[ServerLag]] | None = None,
                 background: Awaitable[object] | None = None) -> ReplicaReads:
    """Run the marker loop (while `background` runs, if given, and over at most the markers given).

    Markers are written one after another, MARKER_GAP_S apart; each is probed by a task of its own from
    its ack on, up to PROBES at a time, so a marker written as the replica stalls is there to show the
    whole stall."""
    stats = reader.stats
    stats.started = time.monotonic()
    sampler = asyncio.get_running_loop().create_task(_sample(server_lag, stats)) if server_lag else None
    load = asyncio.ensure_future(background) if background is not None else None
    slots = asyncio.Semaphore(PROBES)
    probes: set[asyncio.Task[None]] = set()
    newest_seen: list[tuple[int, Any]] = []  # (marker number, key) of the newest marker a read has seen

    async def probe(n: int, key: Any, acked_ns: int, acked_at: float) -> None:
        try:
            lag_ns, stale = await _until_visible(reader, key, acked_ns, timeout_s)
        finally:
            slots.release()
        stats.stale_first_reads += stale
        if lag_ns is None:
            stats.never_visible += 1
            return
        record_us(stats.lag, lag_ns)  # 0 (seen at the first read) is recorded as the floor, 1 us
        stats.timeline.append((acked_at, lag_ns / 1e9))
        if not newest_seen or newest_seen[0][0] < n:
            newest_seen[:] = [(n, key)]

    async def check_monotonic(key: Any) -> None:
        # A read of the newest marker an earlier read saw: not finding it is a read going back in time.
        stats.monotonic_checks += 1
        stats.monotonic_violations += await reader.sees(key) is False

    check: asyncio.Task[None] | None = None
    try:
        for n, marker in enumerate(_markers(markers, load)):
            if newest_seen and (check is None or check.done()):  # one at a time, never holding up a write
                check = asyncio.get_running_loop().create_task(check_monotonic(newest_seen[0][1]))
                probes.add(check)
                check.add_done_callback(probes.discard)
            await slots.acquire()
            if not await writer.write(marker):
                slots.release()
                continue
            stats.markers += 1
            task = asyncio.get_running_loop().create_task(
                probe(n, marker[writer.key], time.perf_counter_ns(), time.monotonic() - stats.started))
            probes.add(task)
            task.add_done_callback(probes.discard)
            await asyncio.sleep(MARKER_GAP_S)
        await asyncio.gather(*probes)
        if load is not None:
            await load
    finally:
        await cancel_and_wait([*probes, *(f for f in (sampler, load) if f is not None)])
    return stats


def _markers(markers: Iterable[Instance], load: asyncio.Future[object] | None) -> Iterator[Instance]:
    it = iter(markers)
    for marker in it:
        yield marker
        if load is not None and load.done():
            return


async def _until_visible(reader: Reader, key: Any, acked_ns: int, timeout_s: float) -> tuple[int | None, bool]:
    """(ns from the ack to the answer of the first read that found it, 0 when the very first read did, None
    when none did in time; whether the first read that answered said "not there": a stale read).

    The answer, not the send: a read sent to a stalled replica is answered only once it has caught up."""
    deadline = acked_ns + int(timeout_s * 1e9)
    first, stale = True, None
    while True:
        seen = await reader.sees(key)
        if seen is not None and stale is None:
            stale = not seen  # only an answer counts: a failed read saw nothing either way
        if seen:
            return (0 if first else time.perf_counter_ns() - acked_ns), bool(stale)
        first = False
        if time.perf_counter_ns() > deadline:
            return None, bool(stale)
        await asyncio.sleep(READ_PAUSE_S)


async def _sample(server_lag: Callable[[], Awaitable[ServerLag]], stats: ReplicaReads) -> None:
    while True:
        with contextlib.suppress(Exception):  # a paused or killed node does not answer; the next sample may
            async with asyncio.timeout(2.0):
                stats.server.append(await server_lag())
        await asyncio.sleep(SERVER_SAMPLE_S)
