"""A crash inside the loss window: one store's own write stream, and a nemesis that kills it mid-stream.

A durability setting can only lose what was acknowledged shortly before the crash (PostgreSQL's
synchronous_commit=off: up to three wal_writer_delay; Redis's appendfsync everysec: about a second, or
longer while a background fsync is slow). Killing a store after its writes have finished tests nothing:
the window has closed. So each store is killed while it is still taking writes, at a point of its own
stream (after K acknowledged writes, or T seconds), and its writers go on against the dead server until
they notice (their first failed or unknown operation after the kill); then no new write is sent.
Right before the kill the server is asked what it says about its own persistence (stack.persistence).

Aim "ack" kills as an independent harness does: the server is frozen (SIGSTOP to every process) in the
same instant the client reads its K-th acknowledgement, inside the listener that sees it, before anything
else runs; the kill follows. The other aims wake a nemesis task first, which asks the server over
connections of its own: milliseconds in which the server goes on writing its WAL (docs/faults.md says what
that hides). Every acknowledgement's time is kept by key, so a trial reports how far back its losses reach.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections import deque
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from typing import Any

import psutil

from sandbox.errors import UsageError
from sandbox.measure.history import OpHistory
from sandbox.measure.load import LoadPlan, batched, cancel_and_wait, drive, gather_all
from sandbox.measure.timing import OpEvent, TimedStore
from sandbox.stack.faults import FaultInjector
from sandbox.stack.persistence import PersistenceProbe, open_window, state_of
from sandbox.workload.dataset import Dataset, Instance

RATE_WINDOW_NS = 1_000_000_000  # the write rate at the kill: acknowledgements in the last second
WINDOW_WAIT_S = 2.0  # aim "window": how long past the kill point to wait for the server to show one open
AIMS = ("window", "point", "ack")
RELIST_S = 0.2  # aim "ack": how often the server's processes are listed again (a pool opens backends lazily)


@dataclass(frozen=True)
class KillPoint:
    """When the nemesis fires on a store's own stream: after `acked` acknowledged writes, or `after_s`
    seconds of writing, whichever comes first."""

    acked: int | None = None
    after_s: float | None = 1.0
    # "window": from that point, wait (up to WINDOW_WAIT_S) until the server itself shows acknowledged
    # writes only in its memory, where it can tell (PostgreSQL's WAL); "point": kill at the point; "ack":
    # freeze the server in the instant the `acked`-th acknowledgement is read (needs kill_at_acked).
    aim: str = "window"
    # With a busy disk, "window" also aims at Redis: an AOF fsync in flight (its everysec write postponed).
    redis_fsync: bool = False

    def validated(self) -> KillPoint:
        if self.aim not in AIMS:
            raise UsageError(f"durability: aim must be window, point or ack, got {self.aim!r}")
        if self.aim == "ack" and self.acked is None:
            raise UsageError("durability: aim=ack freezes the server right after the N-th acknowledgement: give "
                             "kill_at_acked=N")
        if self.acked is None and self.after_s is None:
            raise UsageError("durability: give kill_at_acked or kill_after_s (when to kill each store)")
        if self.acked is not None and (isinstance(self.acked, bool) or not isinstance(self.acked, int)
                                       or self.acked <= 0):
            raise UsageError(f"durability: kill_at_acked must be a positive whole number, got {self.acked!r}")
        if self.after_s is not None and (isinstance(self.after_s, bool) or not isinstance(self.after_s, int | float)
                                         or self.after_s <= 0):
            raise UsageError(f"durability: kill_after_s must be a positive number of seconds, got {self.after_s!r}")
        return self

    def describe(self) -> str:
        if self.aim == "ack":
            return (f"right after the {self.acked:,}th acknowledgement (every process of the server stopped in the "
                    "instant the client read it, then killed; kill_after_s is not used)")
        parts = ([f"{self.acked} acknowledged writes"] if self.acked else []) + \
                ([f"{self.after_s:g} s of writing"] if self.after_s else [])
        return "after " + " or ".join(parts) + (", whichever came first" if len(parts) > 1 else "") + (
            "; then, where the server shows it (PostgreSQL: a WAL page only in its memory"
            + ("; Redis: an AOF fsync in flight" if self.redis_fsync else "") +
            f"), when its loss window was open (waiting up to {WINDOW_WAIT_S:g} s)" if self.aim == "window" else "")


@dataclass
class Crash:
    """How one store was killed in one trial."""

    store: str
    acked_at_kill: int = 0
    after_s: float = 0.0  # seconds of the store's stream before the kill
    rate_at_kill: float | None = None  # acknowledged writes per second in the last second before the kill
    state: dict[str, Any] = field(default_factory=dict)  # the server's persistence state right before the kill
    kill_detail: str = ""
    sent: int = 0  # orders sent (a prefix of the stream)
    sent_after_kill: int = 0  # operations started after the kill, before the writers noticed
    note: str = ""
    since_last_ack_ms: float | None = None  # from the last acknowledgement read to the freeze
    # The lost acknowledgements (filled in after the check): their span, how long before the kill the oldest
    # was read, and how many of the newest acknowledgements in a row were lost (the tail).
    loss_window_ms: float | None = None
    oldest_lost_ms: float | None = None
    lost_tail: int | None = None

    def to_json(self) -> dict[str, Any]:
        return dict(vars(self))


class _Stream:
    """The store's acknowledgements as they come (for the nemesis), and when to stop sending."""

    def __init__(self, point: KillPoint):
        self.point = point
        self.acked = 0
        self.recent: deque[int] = deque()  # end times of recent acknowledgements
        self.acks: dict[str, int] = {}  # key -> when its acknowledgement was read (perf_counter_ns)
        self.killed_ns: int | None = None
        self.frozen_ns: int | None = None  # aim "ack": when the listener froze the server
        self.frozen = 0
        self.acked_frozen = 0  # acknowledgements read when the server was frozen
        self.processes = Pidfds()  # aim "ack": the server's, listed again every RELIST_S
        self.noticed = False
        self.ended = False  # the stream ran out before the kill point
        self.sent_after_kill = 0
        self.sent = 0
        self.reached = asyncio.Event()

    def listener(self, event: OpEvent) -> None:
        if event.op != "write":
            return
        if event.outcome == "ok":
            self.acked += 1
            for key in event.keys:
                self.acks[key] = event.end_ns
            self.recent.append(event.end_ns)
            while self.recent and event.end_ns - self.recent[0] > RATE_WINDOW_NS:
                self.recent.popleft()
            if self.point.acked is not None and self.acked >= self.point.acked and not self.reached.is_set():
                if self.point.aim == "ack":  # now, before any other task runs: nothing more reaches the disk
                    self.frozen = self.processes.stop()
                    self.frozen_ns = time.perf_counter_ns()
                    self.acked_frozen = self.acked
                self.reached.set()
        elif self.killed_ns is not None:
            self.noticed = True  # the first failure after the kill: the client knows

    def items(self, chunks: Iterator[list[Instance]]) -> Iterator[list[Instance]]:
        for chunk in chunks:
            if self.noticed:
                return
            if self.killed_ns is not None:
                self.sent_after_kill += 1
            self.sent += len(chunk)
            yield chunk


@dataclass
class Trial:
    """One store's crash, and what its stream acknowledged (to say how far back the losses reach)."""

    crash: Crash
    acks: dict[str, int]  # key -> when its acknowledgement was read
    killed_ns: int | None

    def losses(self, lost: Collection[str]) -> None:
        """Fill in the crash's loss window from the keys the check found lost."""
        times = sorted(self.acks[k] for k in lost if k in self.acks)
        if not times:
            return
        c = self.crash
        c.loss_window_ms = round((times[-1] - times[0]) / 1e6, 3)
        if self.killed_ns is not None:
            c.oldest_lost_ms = round((self.killed_ns - times[0]) / 1e6, 3)
        lost_set = set(lost)
        tail = 0
        for key, _ in sorted(self.acks.items(), key=lambda kv: kv[1], reverse=True):
            if key not in lost_set:
                break
            tail += 1
        c.lost_tail = tail


async def write_until_killed(ts: TimedStore, data: Dataset, plan: LoadPlan, batch: int, point: KillPoint,
                             injector: FaultInjector, url: str, history: OpHistory,
                             probe: PersistenceProbe | None = None) -> Trial:
    """Write the root stream to one store, kill it at `point`, keep writing until the kill is noticed."""
    stream = _Stream(point)
    ts.listeners.insert(0, stream.listener)  # first: aim "ack" freezes before any other listener runs
    crash = Crash(ts.name)
    server = ts.name.partition(":")[0]  # the kind's server ("mongo:referenced" runs on mongo's)
    started = time.perf_counter_ns()
    lister: list[asyncio.Task[None]] = []

    async def relist() -> None:
        while not stream.reached.is_set():
            listed = await asyncio.to_thread(_processes, injector, server)
            if not stream.reached.is_set():
                stream.processes.hold(listed)
            await asyncio.sleep(RELIST_S)

    if point.aim == "ack":
        stream.processes.hold(_processes(injector, server))
        lister.append(asyncio.get_running_loop().create_task(relist()))

    async def nemesis() -> None:
        with contextlib.suppress(TimeoutError):  # T seconds of writing came first
            async with asyncio.timeout(None if point.aim == "ack" else point.after_s):  # "ack": that ack alone
                await stream.reached.wait()
        await _kill(server, crash, stream, injector, url, history, started, probe)

    async def write(chunk: list[Instance], intended_ns: int, begun_ns: int) -> None:
        await ts.write_batch(chunk, intended_ns, begun_ns)

    async def writers() -> None:
        await drive(stream.items(batched(data.roots(), batch)), write, plan)
        if stream.killed_ns is None:  # out of instances before the kill point: kill now, and say so
            stream.ended = True
            stream.reached.set()

    try:
        await gather_all(writers(), nemesis())
    finally:
        ts.listeners.remove(stream.listener)
        await cancel_and_wait(lister)
        stream.processes.close()
    crash.sent_after_kill, crash.sent = stream.sent_after_kill, stream.sent
    return Trial(crash, stream.acks, stream.killed_ns)


def _processes(injector: FaultInjector, store: str) -> list[psutil.Process]:
    """Every process of the server (looked up before the kill point: listing them takes milliseconds); none
    where the stack does not know its PID (`docker compose kill` then signals the container's processes)."""
    pid = injector.stack.pid(store)
    if pid is None:
        return []
    try:
        server = psutil.Process(pid)
        return [server, *server.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


class Pidfds:
    """The server's processes held by pidfd (pidfd_open(2)): a signal through one reaches that process and never
    one that reused its PID, and costs a system call, so the listener can stop the whole server in
    microseconds the instant it reads an acknowledgement (psutil checks each process's identity first: ~0.1 ms
    each, milliseconds for a server, in which a WAL writer goes on writing)."""

    def __init__(self) -> None:
        self.fds: dict[int, int] = {}

    def hold(self, processes: list[psutil.Process]) -> None:
        for process in processes:
            if process.pid in self.fds:
                continue
            try:
                fd = os.pidfd_open(process.pid)
            except OSError:
                continue
            if process.is_running():  # the fd is the listed process's (its start time checked after opening)
                self.fds[process.pid] = fd
            else:
                os.close(fd)

    @property
    def pids(self) -> set[int]:
        return set(self.fds)

    def stop(self) -> int:
        stopped = 0
        for fd in self.fds.values():
            with contextlib.suppress(OSError):  # gone since it was listed
                signal.pidfd_send_signal(fd, signal.SIGSTOP)
                stopped += 1
        return stopped

    def close(self) -> None:
        for fd in self.fds.values():
            os.close(fd)
        self.fds.clear()


def _freeze(processes: list[psutil.Process]) -> int:
    """Stop every process of the server in the same instant, so the kill that follows is one crash of the
    whole server: killed one by one, a PostgreSQL WAL writer could still write while its backends were
    dying, or backends acknowledge commits after the WAL writer was gone. Returns how many it stopped (a
    container's processes may belong to a user this one may not signal)."""
    stopped = 0
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            process.send_signal(signal.SIGSTOP)  # psutil checks the process's identity first
            stopped += 1
    return stopped


async def _kill(store: str, crash: Crash, stream: _Stream, injector: FaultInjector, url: str, history: OpHistory,
                started_ns: int, probe: PersistenceProbe | None) -> None:
    frozen: int | None = None  # how many processes were stopped, once they were
    processes: list[psutil.Process] = []
    if stream.frozen_ns is not None:  # aim "ack": frozen in the listener; a frozen server says nothing
        frozen = stream.frozen
        known = stream.processes.pids
        frozen += _freeze([p for p in _processes(injector, store) if p.pid not in known])  # opened since
    else:
        crash.state = await state_of(probe, url)  # asked first: a dead server says nothing
        processes = _processes(injector, store)

    def freeze() -> None:
        nonlocal frozen
        frozen = _freeze(processes)
        stream.frozen_ns = time.perf_counter_ns()
        stream.acked_frozen = stream.acked

    if stream.point.aim == "window":
        seen = await open_window(probe, url, WINDOW_WAIT_S, then=freeze, busy_disk=stream.point.redis_fsync)
        if seen is not None:
            crash.state.update(seen)
    if frozen is None:
        freeze()
    now = stream.frozen_ns or time.perf_counter_ns()
    crash.acked_at_kill = stream.acked_frozen
    crash.after_s = round((now - started_ns) / 1e9, 3)
    window = min(RATE_WINDOW_NS, now - started_ns)
    in_window = sum(1 for end in stream.recent if 0 <= now - end <= RATE_WINDOW_NS)
    crash.rate_at_kill = round(in_window / (window / 1e9), 1) if window > 0 else None
    last = max((end for end in stream.recent if end <= now), default=None)
    crash.since_last_ack_ms = round((now - last) / 1e6, 3) if last is not None else None
    history.note_fault(store, "kill", f"after {crash.acked_at_kill} acknowledged writes, {crash.after_s:g} s")
    stream.killed_ns = now
    crash.kill_detail = (f"{frozen} processes stopped at once (SIGSTOP), then " if frozen else "") + \
        await injector.apply(store, "kill")
    if stream.ended:
        crash.note = "out of root instances before the kill point: killed after the last write (raise --orders)"
