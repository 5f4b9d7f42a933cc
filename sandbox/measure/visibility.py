"""Visibility lag: how long after its acknowledgement a write shows up on the path readers query.

Sampled acknowledged writes are probed by a reader with its own connections (so probes never
queue behind the writers' pool) through Store.visible (Elasticsearch: a search, not the
realtime GET by id; InfluxDB: an InfluxQL query; the others: their read by id) until they are
found. Lag = start of the first probe that found the order - the acknowledgement, in an HdrHistogram.

Rule for "not observable": the first probe of a sample starts right after its acknowledgement and
takes one round trip. When every sample that became visible was already visible at its first probe,
any lag the store has is below this probe's resolution (about one probe round trip), so the report
says "not observable here", names the server, and gives the resolution, instead of a lag of 0.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from hdrh.histogram import HdrHistogram

from sandbox.measure.latency import new_histogram, record_us, summarize
from sandbox.measure.timing import OpEvent

PROBE_PAUSE_S = 0.001  # between probes of one order: the resolution floor, besides the round trip


@dataclass
class LagStats:
    """Visibility lag samples of one store."""

    store: str
    server: str
    lag: HdrHistogram = field(default_factory=new_histogram)
    probe_round_trip: HdrHistogram = field(default_factory=new_histogram)
    sampled: int = 0
    visible_at_first_probe: int = 0
    never_visible: int = 0  # not found within the probe timeout
    probe_errors: int = 0

    @property
    def visible(self) -> int:
        return self.sampled - self.never_visible

    @property
    def observable(self) -> bool:
        return self.visible > self.visible_at_first_probe

    @property
    def resolution_ms(self) -> float | None:
        return summarize(self.probe_round_trip)["p50"]

    def verdict(self) -> str:
        if self.sampled == 0:
            return "no acknowledged writes sampled"
        if not self.observable:
            res = self.resolution_ms
            return (f"not observable here (server {self.server}): all {self.visible} samples visible at the first "
                    f"probe; any lag is below the probe resolution (~{res:.2f} ms)" if res is not None else
                    f"not observable here (server {self.server}): no sample became visible")
        return f"{self.visible - self.visible_at_first_probe} of {self.visible} samples needed more than one probe"

    def to_json(self) -> dict[str, Any]:
        return {"server": self.server, "sampled": self.sampled, "visible_at_first_probe": self.visible_at_first_probe,
                "never_visible": self.never_visible, "probe_errors": self.probe_errors,
                "observable": self.observable, "verdict": self.verdict(),
                "lag_ms": summarize(self.lag) if self.observable else None,
                "probe_round_trip_ms": summarize(self.probe_round_trip)}


class VisibilityProbe:
    """A TimedStore listener that samples acknowledged writes and probes each until visible.

    Every `every`-th acknowledged write operation of a store is sampled (its first order), up to
    `limit` per store; each sample gets its own task, started at once, so a backlog of probes never
    delays the first probe of the next sample."""

    def __init__(self, probes: dict[str, Callable[[str], Awaitable[bool]]], servers: dict[str, str],
                 every: int, limit: int, timeout_s: float):
        self.probes = probes
        self.every = max(1, every)
        self.limit = limit
        self.timeout_s = timeout_s
        self.stats = {name: LagStats(name, servers[name]) for name in probes}
        self._acks = dict.fromkeys(probes, 0)
        self._tasks: set[asyncio.Task[None]] = set()

    def listener(self, event: OpEvent) -> None:
        if event.op != "write" or event.outcome != "ok" or event.store not in self.probes or not event.keys:
            return
        n = self._acks[event.store]
        self._acks[event.store] = n + 1
        stats = self.stats[event.store]
        if n % self.every or stats.sampled >= self.limit:
            return
        stats.sampled += 1
        task = asyncio.get_running_loop().create_task(self._probe(stats, event.keys[0], event.end_ns))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _probe(self, stats: LagStats, order_id: str, acked_ns: int) -> None:
        probe = self.probes[stats.store]
        deadline = acked_ns + int(self.timeout_s * 1e9)
        first = True
        while True:
            start = time.perf_counter_ns()
            answered = True
            try:
                found = await probe(order_id)
            except Exception:  # a store that is down or restarting: keep probing until the deadline
                stats.probe_errors += 1
                answered = found = False
            end = time.perf_counter_ns()
            if answered:
                record_us(stats.probe_round_trip, end - start)
            if found:
                stats.visible_at_first_probe += first
                record_us(stats.lag, 0 if first else start - acked_ns)
                return
            if end > deadline:
                stats.never_visible += 1
                return
            # Only an answer of "not there" counts: a probe that failed saw nothing either way.
            first = first and not answered
            await asyncio.sleep(PROBE_PAUSE_S)

    async def finish(self) -> None:
        """Wait for the outstanding probes (each ends by its timeout at the latest)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    def cancel(self) -> None:
        for task in list(self._tasks):
            task.cancel()
