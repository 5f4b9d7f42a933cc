"""The one place where store calls are timed and their outcomes counted (adapters never time themselves)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from sandbox.measure.latency import OpStats, record_us
from sandbox.stores.base import Store
from sandbox.workload.model import Order, OrderRecord

T = TypeVar("T")

# Errors that leave the outcome of a write unknown: it may have landed before the link broke.
UNKNOWN_OUTCOME = (TimeoutError, ConnectionError, OSError)


class TimedStore:
    """Wraps a Store: every call is timed into an HdrHistogram and classified ok / failed / unknown.

    Calls never raise for store errors: a store failing mid-run is counted, and the run goes on.
    """

    def __init__(self, store: Store, op_timeout_s: float = 10.0):
        self.store = store
        self.op_timeout_s = op_timeout_s
        self.stats: dict[str, OpStats] = {}

    @property
    def name(self) -> str:
        return self.store.name

    def op(self, name: str) -> OpStats:
        if name not in self.stats:
            self.stats[name] = OpStats()
        return self.stats[name]

    async def call(self, op: str, fn: Callable[[], Awaitable[T]], items: int = 1) -> tuple[bool, T | None]:
        stats = self.op(op)
        start = time.perf_counter_ns()
        try:
            async with asyncio.timeout(self.op_timeout_s):
                result = await fn()
        except UNKNOWN_OUTCOME as exc:
            stats.unknown += 1
            stats.note_error(exc)
            return False, None
        except Exception as exc:  # any store error: counted and shown, the run goes on
            if _is_connection_error(exc):
                stats.unknown += 1
            else:
                stats.failed += 1
            stats.note_error(exc)
            return False, None
        record_us(stats.latency, time.perf_counter_ns() - start)
        stats.ok += 1
        stats.items += items
        return True, result

    async def write(self, order: Order) -> bool:
        return (await self.call("write", lambda: self.store.write(order)))[0]

    async def write_batch(self, orders: Sequence[Order]) -> bool:
        if len(orders) == 1:
            return await self.write(orders[0])
        return (await self.call("write", lambda: self.store.write_batch(orders), items=len(orders)))[0]

    async def read(self, order_id: str) -> tuple[bool, OrderRecord | None]:
        return await self.call("read", lambda: self.store.read(order_id))


def _is_connection_error(exc: BaseException) -> bool:
    """Client libraries wrap socket failures in their own types; look at the names and causes."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, UNKNOWN_OUTCOME) or "Connection" in type(seen).__name__ \
                or "Timeout" in type(seen).__name__ or type(seen).__name__ == "AutoReconnect":
            return True
        seen = seen.__cause__ or seen.__context__
    return False
