"""The one place where store calls are timed and their outcomes counted (adapters never time themselves)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from sandbox.measure.latency import FLUSH_EVERY, OpStats
from sandbox.stores.contract import BatchWrite

T = TypeVar("T")

_now = time.perf_counter_ns
# The task a call runs in (for the timeout watchdog), looked up in asyncio's own table of each running loop's
# current task. asyncio.current_task() costs ~0.55 us here, most of it get_running_loop()'s getpid() (a system
# call since glibc 2.25, made to detect a fork); the table lookup with the loop remembered costs ~0.05 us.
# A Python without that table (a private detail of asyncio) falls back to asyncio.current_task().
_CURRENT_TASKS: dict | None = getattr(asyncio.tasks, "_current_tasks", None)

# Errors that leave the outcome of a write unknown: it may have landed before the link broke.
UNKNOWN_OUTCOME = (TimeoutError, ConnectionError, OSError)
# Errors that say nothing was sent: no server could be chosen (PyMongo's server selection, retries off).
NOTHING_SENT = ("ServerSelectionTimeoutError",)
# The server's own error reply, though the client library files it under connection errors: Redis replaying
# its AOF answers LOADING and runs nothing (redis-py's BusyLoadingError is a ConnectionError). A failure.
SERVER_REFUSED = ("BusyLoadingError",)


Outcome = Literal["ok", "fail", "info"]  # Jepsen's words: info = the outcome is unknown


@dataclass(frozen=True, slots=True)
class OpEvent:
    """One finished operation, for listeners such as an operation history."""

    store: str
    op: str
    keys: tuple[str, ...]  # the order ids the operation carried
    start_ns: int  # time.perf_counter_ns() at invoke
    end_ns: int
    outcome: Outcome
    error: str | None = None
    intended_ns: int | None = None  # the load model's intended start (open loop); start_ns is the send
    value: object = None  # what the operation asked for, when a history needs more than keys (an update)
    result: object = None  # what the store answered (e.g. whether an update applied), on ok
    refused: bool = False  # failed before anything was sent (connection refused): a definite failure


Listener = Callable[[OpEvent], None]


class TimedCalls:
    """Times calls into HdrHistograms per operation name and classifies them ok / failed / unknown.

    Calls never raise for errors: a store failing mid-run is counted, and the run goes on. TimedStore
    times one store's calls; a strategy's placements (one order saved the strategy's way, across
    stores) are timed by a TimedCalls of their own, with op_timeout_s None: the store calls inside
    them have their own timeouts.
    """

    def __init__(self, name: str, op_timeout_s: float | None = 10.0, listeners: Sequence[Listener] = ()):
        self._name = name
        self.op_timeout_s = op_timeout_s
        self.listeners = list(listeners)
        self.stats: dict[str, OpStats] = {}
        # Operations whose intended start is before this (perf_counter_ns) are warm-up, not results.
        self.measure_from_ns = 0
        self._inflight: dict[asyncio.Task, int] = {}  # task -> send time, for the timeout watchdog
        self._expired: set[asyncio.Task] = set()
        self._watchdog: asyncio.Task | None = None
        self._loop: asyncio.AbstractEventLoop | None = None  # the loop of the last call (see _task)

    @property
    def name(self) -> str:
        return self._name

    def op(self, name: str) -> OpStats:
        if name not in self.stats:
            self.stats[name] = OpStats()
        return self.stats[name]

    async def call(self, op: str, fn: Callable[[], Awaitable[T]], keys: tuple[str, ...] = (),
                   intended_ns: int | None = None, begun_ns: int | None = None,
                   value: object = None) -> tuple[bool, T | None]:
        """Run one store call and record its three times (see sandbox.measure.latency).

        intended_ns: when the load model meant the operation to start (perf_counter_ns); begun_ns: when
        a worker picked it up. Both default to the send, so a bare call() measures service time only.
        value: what the operation asks for, passed on to listeners with the store's answer.
        """
        start = _now()  # the send
        task = None
        if self.op_timeout_s is not None:
            task = _CURRENT_TASKS.get(self._loop) if _CURRENT_TASKS is not None else None
            task = task or self._task()  # a call on a new loop (or a Python without the table)
            if task is not None:
                self._inflight[task] = start
                if self._watchdog is None:
                    self._watchdog = asyncio.get_running_loop().create_task(self._watch())
        outcome: Outcome = "ok"
        refused = False
        error: BaseException | None = None
        result: T | None = None
        try:
            result = await fn()
        except asyncio.CancelledError:
            if task not in self._expired:
                raise
            # Our own timeout (see _watch), not someone cancelling the run.
            self._expired.discard(task)
            task.uncancel()
            error = TimeoutError(f"no answer within {self.op_timeout_s:g} s")
            outcome = "info"
        except Exception as exc:  # any store error: counted and shown, the run goes on
            error = exc
            # Refused before anything was sent: it did not happen. Cut after sending: nobody knows.
            refused = refused_before_send(exc)
            outcome = "fail" if refused or type(exc).__name__ in SERVER_REFUSED or not _is_connection_error(exc) \
                else "info"
        end = _now()
        if task is not None:
            del self._inflight[task]
            if self._expired and task in self._expired:  # the call ignored its cancellation
                self._expired.discard(task)
                task.uncancel()
        if intended_ns is None:
            intended_ns = start
        stats = self.stats.get(op) or self.op(op)
        if error is None and intended_ns >= self.measure_from_ns:  # the common case, kept short
            responses, services, processings = stats.pending
            responses.append(end - intended_ns)
            services.append(end - start)
            processings.append(start - (begun_ns or start))
            if len(responses) >= FLUSH_EVERY:
                stats.flush()
            stats.ok += 1
            stats.items += len(keys) or 1
        elif intended_ns < self.measure_from_ns:
            stats.warmup += 1  # warm-up: left out of every histogram, but errors are counted
            if error is not None:
                stats.warmup_errors += 1
                stats.note_error(error)
        elif error is not None:
            stats.record_error(end - intended_ns, outcome == "info", error)
        if self.listeners:
            event = OpEvent(self.name, op, keys, start, end, outcome,
                            None if error is None else f"{type(error).__name__}: {error}"[:200], intended_ns,
                            value, result, refused)
            for listener in self.listeners:
                listener(event)
        if task is not None and task.cancelling():
            # Cancelled while the call ran, and the client library swallowed it (redis-py's pipelines
            # can): the outcome is recorded above, now stop, or the worker writes on past a teardown.
            raise asyncio.CancelledError
        return error is None, result

    def _task(self) -> asyncio.Task | None:
        """The current task the slow way, remembering its loop: call() looks the task up in _CURRENT_TASKS
        with the remembered loop, and a loop that is not running has no current task there, so a wrapper
        used on a new loop (a second asyncio.run) comes here again."""
        self._loop = asyncio.get_running_loop()
        return asyncio.current_task(self._loop)

    async def _watch(self) -> None:
        """Time out calls that run past op_timeout_s by cancelling their task.

        One watchdog per store instead of asyncio.timeout() per call: that costs ~10 us a call, more
        than the whole harness budget (see docs/measurement.md, calibration). A timeout fires within
        op_timeout_s plus one check interval (a tenth of the timeout, at most 100 ms).
        """
        timeout_s = self.op_timeout_s or 0.0  # only started when there is a timeout
        interval = min(0.1, timeout_s / 10)
        limit_ns = int(timeout_s * 1e9)
        try:
            while self._inflight:
                await asyncio.sleep(interval)
                now = time.perf_counter_ns()
                for task, started in list(self._inflight.items()):
                    if now - started >= limit_ns and task not in self._expired:
                        self._expired.add(task)
                        task.cancel()
        finally:
            self._watchdog = None


class TimedStore(TimedCalls):
    """Wraps a model store (stores/contract.py): every call to it is timed (TimedCalls), under the store's name.

    `entity` and `key` name the root the run writes (write, read): keys are what a history records."""

    def __init__(self, store: Any, op_timeout_s: float = 10.0, listeners: Sequence[Listener] = (),
                 entity: str = "", key: str = "id"):
        super().__init__(store.name, op_timeout_s, listeners)
        self.store = store
        self.entity, self.key = entity, key

    @property
    def name(self) -> str:
        return str(self.store.name)  # the adapter's, even if it is renamed after wrapping

    async def write(self, instance: dict[str, Any], intended_ns: int | None = None,
                    begun_ns: int | None = None) -> bool:
        return (await self.call("write", lambda: self.store.write(instance), (str(instance[self.key]),), intended_ns,
                                begun_ns))[0]

    async def write_batch(self, instances: Sequence[dict[str, Any]], intended_ns: int | None = None,
                          begun_ns: int | None = None) -> bool:
        if len(instances) == 1:
            return await self.write(instances[0], intended_ns, begun_ns)
        keys = tuple(str(i[self.key]) for i in instances)
        return (await self.call("write", lambda: write_all(self.store, instances), keys, intended_ns, begun_ns))[0]

    async def read(self, key: Any) -> tuple[bool, dict[str, Any] | None]:
        return await self.call("read", lambda: self.store.read(self.entity, key), (str(key),))


async def write_all(store: Any, instances: Sequence[dict[str, Any]]) -> None:
    """Several roots in one round trip where the store has one (BatchWrite), else one by one."""
    if isinstance(store, BatchWrite):
        await store.write_batch(instances)
        return
    for instance in instances:
        await store.write(instance)


def refused_before_send(exc: BaseException) -> bool:
    """Whether a call failed before anything reached the server: its connection could not be opened
    (ECONNREFUSED, asyncio's "Connect call failed"), or no server could be selected (NOTHING_SENT). A client
    that retried (elastic-transport keeps every attempt's error in `.errors`) counts only when every attempt
    was refused: one attempt cut after sending leaves the outcome unknown. The clients here are opened
    without retries (redis-py Retry(0), PyMongo retryWrites=False, asyncpg and aiohttp do not retry)."""
    attempts = [exc, *(e for e in getattr(exc, "errors", ()) or () if isinstance(e, BaseException))]
    return all(_refused(a) for a in attempts)


def _refused(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ConnectionRefusedError) or type(seen).__name__ in NOTHING_SENT:
            return True
        if isinstance(seen, OSError) and "Connect call failed" in str(seen):  # asyncio, several addresses
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _is_connection_error(exc: BaseException) -> bool:
    """Timeouts and broken connections leave a write's outcome unknown. Client libraries wrap socket
    failures in their own types, so look at the exception chain and the type names."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, UNKNOWN_OUTCOME) or "Connection" in type(seen).__name__ \
                or "Timeout" in type(seen).__name__ or type(seen).__name__ == "AutoReconnect":
            return True
        seen = seen.__cause__ or seen.__context__
    return False


class LabelledTimer:
    """Times calls whose kind is known only from the answer (a cache read is a hit or a miss once it
    returns): fn returns (label, value) and the time goes into that label's OpStats, as TimedStore
    records a store call. A call that raises is counted as a failure under `error_label`."""

    def __init__(self, error_label: str = "error"):
        self.stats: dict[str, OpStats] = {}
        self.error_label = error_label

    def op(self, label: str) -> OpStats:
        if label not in self.stats:
            self.stats[label] = OpStats()
        return self.stats[label]

    async def call(self, fn: Callable[[], Awaitable[tuple[str, T]]]) -> T | None:
        start = _now()
        try:
            label, value = await fn()
        except Exception as exc:  # counted and shown; the run goes on
            stats = self.op(self.error_label)
            stats.failed += 1
            stats.note_error(exc)
            return None
        elapsed = _now() - start
        stats = self.stats.get(label) or self.op(label)
        responses, services, processings = stats.pending
        responses.append(elapsed)
        services.append(elapsed)
        processings.append(0)
        if len(responses) >= FLUSH_EVERY:
            stats.flush()
        stats.ok += 1
        stats.items += 1
        return value
