"""One store's backup drill: open-loop writes of the model's roots, a backup every `every_s`, a disaster at a
seeded moment (the server killed, its data directory destroyed), a restore from the newest backup (+ the
continuous archive where the store keeps one and it survived), then what was lost and how long it took.

Acknowledgement times are kept per key (perf_counter_ns) from the TimedStore's events, so the lost roots'
window is told in seconds before the disaster; the foreground p99 is split by whether a write started while
a backup ran. Blocking backup calls run in a thread: the writers keep their schedule meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sandbox.experiments.backups.result import DrillRow, TakenBackup
from sandbox.measure.load import LoadPlan, batched, drive
from sandbox.measure.timing import OpEvent, TimedStore
from sandbox.stack.faults import FaultInjector
from sandbox.stores.contract import BackupArtifact, Backups, BackupTarget
from sandbox.workload.dataset import Dataset, Instance

READ_POLL_S = 0.02


@dataclass(frozen=True)
class DrillPlan:
    every_s: float
    disaster_s: float  # seconds into the writes (drawn from the seed by the step)
    method: str
    archive_survives: bool = True
    restore_timeout_s: float = 120.0


@dataclass
class Acks:
    """What the writes' events say: each key's send and acknowledgement time, and every write's latency."""

    sent_ns: dict[str, int] = field(default_factory=dict)
    acked_ns: dict[str, int] = field(default_factory=dict)
    writes: list[tuple[int, int]] = field(default_factory=list)  # (start_ns, latency_ns) of acknowledged writes

    def listener(self, event: OpEvent) -> None:
        if event.op != "write":
            return
        for key in event.keys:
            self.sent_ns[key] = event.start_ns
        if event.outcome == "ok":
            for key in event.keys:
                self.acked_ns[key] = event.end_ns
            self.writes.append((event.start_ns, event.end_ns - event.start_ns))


def p99_ms(latencies: list[int]) -> float | None:
    return round(float(np.percentile(np.array(latencies), 99)) / 1e6, 3) if latencies else None


class Writer:
    """The root stream under the plan, stopped (no new write sent) at the disaster."""

    def __init__(self, data: Dataset, batch: int):
        self.data, self.batch = data, batch
        self.stopped = False
        self.sent = 0

    def items(self) -> Iterator[list[Instance]]:
        for chunk in batched(self.data.roots(), self.batch):
            if self.stopped:
                return
            self.sent += len(chunk)
            yield chunk


@dataclass
class Outcome:
    reader: Any  # connected to the restored server
    acks: Acks
    sent: int
    disaster_ns: int

    def lost_window(self, lost: set[str]) -> tuple[float, float] | None:
        """The lost acknowledgements' span, in seconds before the disaster (oldest, newest)."""
        times = sorted(self.acks.acked_ns[k] for k in lost if k in self.acks.acked_ns)
        if not times:
            return None
        return round((self.disaster_ns - times[0]) / 1e9, 3), round((self.disaster_ns - times[-1]) / 1e9, 3)


async def run_drill(ts: TimedStore, data: Dataset, plan: LoadPlan, batch: int, backups: Backups,
                    target: BackupTarget, injector: FaultInjector, drill: DrillPlan,
                    open_reader: Callable[[], Awaitable[Any]], row: DrillRow) -> Outcome:
    """Writes, backups, the disaster and the restore; fills `row` (all but the checker's verdicts)."""
    acks = Acks()
    ts.listeners.append(acks.listener)
    writer = Writer(data, batch)
    windows: list[tuple[int, int]] = []
    taken: list[BackupArtifact] = []
    start = time.perf_counter_ns()

    async def write(chunk: list[Instance], intended_ns: int, begun_ns: int) -> None:
        await ts.write_batch(chunk, intended_ns, begun_ns)

    async def schedule() -> None:
        n = 1
        while (at := n * drill.every_s) < drill.disaster_s:
            await asyncio.sleep(max(0.0, start / 1e9 + at - time.perf_counter()))
            if writer.stopped:  # the previous backup ran past the disaster: no backup of a dead server
                return
            began, acked = time.perf_counter_ns(), len(acks.acked_ns)
            try:
                artifact = await asyncio.to_thread(backups.take, target, drill.method)
            except Exception as exc:  # a backup the disaster cut short, or one the server refused
                row.backups.append(TakenBackup(round((began - start) / 1e9, 3), 0.0, 0, acked, None, 0,
                                               drill.method, f"{type(exc).__name__}: {exc}"[:200]))
                return
            windows.append((began, time.perf_counter_ns()))
            taken.append(artifact)
            row.backups.append(TakenBackup(round((began - start) / 1e9, 3), round(artifact.duration_s, 3),
                                           artifact.size_bytes, acked, None, 0, drill.method))
            n += 1

    writing = asyncio.get_running_loop().create_task(drive(writer.items(), write, plan))
    scheduler = asyncio.get_running_loop().create_task(schedule())
    try:
        await asyncio.sleep(drill.disaster_s)
        deadline = time.perf_counter() + drill.restore_timeout_s
        while not taken and not scheduler.done() and time.perf_counter() < deadline:
            await asyncio.sleep(0.05)  # a slow first backup (a loaded host): the disaster comes after it, as planned
        writer.stopped = True  # nothing new is sent from the disaster on
        disaster_ns = time.perf_counter_ns()
        kill = await injector.apply(target.store, "kill")
        if not scheduler.done():  # a backup running now was killed with its server; none starts later
            with contextlib.suppress(asyncio.CancelledError):
                await scheduler
        destroyed = await asyncio.to_thread(backups.destroy, target)
        if backups.continuous and not drill.archive_survives:
            destroyed += await asyncio.to_thread(backups.destroy_archive, target)  # type: ignore[attr-defined]
        row.disaster_at_s = round((disaster_ns - start) / 1e9, 3)
        row.disaster = f"{kill}; deleted {', '.join(p.name for p in destroyed)}"
        await writing  # writes in flight fail or time out
    finally:
        ts.listeners.remove(acks.listener)
        for task in (writing, scheduler):
            task.cancel()
    row.sent, row.acknowledged = writer.sent, len(acks.acked_ns)
    _backup_impact(row, acks, windows, disaster_ns)
    if not taken:
        row.error = "no backup finished before the disaster (raise the disaster's moment or lower every)"
        await injector.apply(target.store, "start")  # back up, empty, for the run's teardown
        return Outcome(await open_reader(), acks, writer.sent, disaster_ns)
    newest = taken[-1]
    row.restored_from = f"{newest.path.name} ({newest.size_bytes:,} bytes, taken at " \
                        f"{(windows[-1][0] - start) / 1e9:.1f} s)"
    laid = await asyncio.to_thread(backups.restore_files, target, newest)
    await injector.apply(target.store, "start")
    online = await asyncio.to_thread(backups.restore_online, target, newest, drill.restore_timeout_s)
    reader = await _first_read(open_reader, data, acks, windows[-1][0], drill.restore_timeout_s)
    row.rto_s = round((time.perf_counter_ns() - disaster_ns) / 1e9, 3)
    row.restore = f"{laid}; {online}"
    return Outcome(reader, acks, writer.sent, disaster_ns)


def _backup_impact(row: DrillRow, acks: Acks, windows: list[tuple[int, int]], disaster_ns: int) -> None:
    """p99 of the writes started during each backup, and of those started outside all of them (the baseline)."""
    during: list[list[int]] = [[] for _ in windows]
    outside: list[int] = []
    for begun, latency in acks.writes:
        if begun >= disaster_ns:
            continue
        i = next((j for j, (a, b) in enumerate(windows) if a <= begun <= b), None)
        (outside if i is None else during[i]).append(latency)
    done = [b for b in row.backups if b.error is None]
    for b, lat in zip(done, during, strict=True):
        b.p99_ms, b.writes = p99_ms(lat), len(lat)
    row.baseline_p99_ms = p99_ms(outside)


async def _first_read(open_reader: Callable[[], Awaitable[Any]], data: Dataset, acks: Acks, backup_began_ns: int,
                      timeout_s: float) -> Any:
    """A reader on the restored server, once it answers a read of a root the newest backup holds (the stream's
    first root, acknowledged before that backup began; without one, once it answers at all)."""
    first = data.root(0)[data.model.root_entity.key]
    held = acks.acked_ns.get(str(first), backup_began_ns) < backup_began_ns
    root = data.model.root
    deadline = time.perf_counter() + timeout_s
    reader: Any = None
    while True:
        try:
            reader = reader or await open_reader()
            if not held or await reader.read(root, first) is not None:
                return reader
        except Exception:  # not answering yet: refused, reset, or still loading
            if reader is not None:
                with contextlib.suppress(Exception):
                    await reader.close()
            reader = None
        if time.perf_counter() > deadline:
            raise TimeoutError(f"the restored server did not answer a read of restored data within {timeout_s:g} s")
        await asyncio.sleep(READ_POLL_S)
