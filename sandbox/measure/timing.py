"""The one place where store calls are timed and their outcomes counted (adapters never time themselves)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Literal, TypeVar

from sandbox.measure.latency import OpStats, record_us
from sandbox.stores.base import Store
from sandbox.workload.model import Order, OrderRecord

T = TypeVar("T")

# Errors that leave the outcome of a write unknown: it may have landed before the link broke.
UNKNOWN_OUTCOME = (TimeoutError, ConnectionError, OSError)


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


Listener = Callable[[OpEvent], None]


class TimedStore:
    """Wraps a Store: every call is timed into an HdrHistogram and classified ok / failed / unknown.

    Calls never raise for store errors: a store failing mid-run is counted, and the run goes on.
    """

    def __init__(self, store: Store, op_timeout_s: float = 10.0, listeners: Sequence[Listener] = ()):
        self.store = store
        self.op_timeout_s = op_timeout_s
        self.listeners = list(listeners)
        self.stats: dict[str, OpStats] = {}

    @property
    def name(self) -> str:
        return self.store.name

    def op(self, name: str) -> OpStats:
        if name not in self.stats:
            self.stats[name] = OpStats()
        return self.stats[name]

    async def call(self, op: str, fn: Callable[[], Awaitable[T]], keys: tuple[str, ...] = ()
                   ) -> tuple[bool, T | None]:
        stats = self.op(op)
        start = time.perf_counter_ns()
        outcome: Outcome = "ok"
        error: BaseException | None = None
        result: T | None = None
        try:
            async with asyncio.timeout(self.op_timeout_s):
                result = await fn()
        except Exception as exc:  # any store error: counted and shown, the run goes on
            error = exc
            outcome = "info" if _is_connection_error(exc) else "fail"
        end = time.perf_counter_ns()
        if error is None:
            record_us(stats.latency, end - start)
            stats.ok += 1
            stats.items += max(1, len(keys))
        else:
            if outcome == "info":
                stats.unknown += 1
            else:
                stats.failed += 1
            stats.note_error(error)
        if self.listeners:
            event = OpEvent(self.name, op, keys, start, end, outcome,
                            None if error is None else f"{type(error).__name__}: {error}"[:200])
            for listener in self.listeners:
                listener(event)
        return error is None, result

    async def write(self, order: Order) -> bool:
        return (await self.call("write", lambda: self.store.write(order), (order.id,)))[0]

    async def write_batch(self, orders: Sequence[Order]) -> bool:
        if len(orders) == 1:
            return await self.write(orders[0])
        return (await self.call("write", lambda: self.store.write_batch(orders), tuple(o.id for o in orders)))[0]

    async def read(self, order_id: str) -> tuple[bool, OrderRecord | None]:
        return await self.call("read", lambda: self.store.read(order_id), (order_id,))


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
