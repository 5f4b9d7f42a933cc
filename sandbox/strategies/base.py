"""What every write strategy offers the scenario that compares them."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import Any, ClassVar

from hdrh.histogram import HdrHistogram

from sandbox.measure.timing import TimedStore
from sandbox.workload.model import Order


@dataclass(frozen=True)
class StrategyOptions:
    seed: int
    concurrency: int = 8
    payment_failure_rate: float = 0.1  # saga: share of payments the payment step declines
    relay_workers: int = 2  # outbox: relay workers sharing the outbox with FOR UPDATE SKIP LOCKED
    relay_batch: int = 100  # outbox rows / events handled per relay or projection batch
    deliver_concurrency: int = 8  # upserts in flight per store within one batch
    idle_poll_s: float = 0.5  # how long a relay or projection sleeps when nothing new arrived (or no NOTIFY)
    retry_backoff_s: float = 0.25  # first pause after a failed delivery; doubles up to 2 s


class Strategy:
    """How an application gets one order into the stores of a run.

    place() returns the order state the client was told is stored (its acknowledgement), or None when
    the client saw a failure. Store errors never escape: they are what the strategies are compared on.
    """

    name: ClassVar[str]

    def __init__(self, stores: dict[str, TimedStore], options: StrategyOptions):
        self.stores = stores
        self.options = options

    async def start(self) -> None:
        """Create the strategy's own tables and start its background workers."""

    async def place(self, order: Order, index: int) -> Order | None:
        """Save one order the strategy's way; the acknowledged state, or None on a client-visible failure."""
        raise NotImplementedError

    async def settle(self, timeout_s: float) -> bool:
        """Wait until background work (relay, projections) has caught up; False if it did not in time."""
        return True

    async def stop(self) -> None:
        """Stop background workers and close the strategy's own connections."""

    async def verify(self) -> dict[str, Any]:
        """Strategy-specific checks after the run has settled (the saga's inventory check)."""
        return {}

    def lag(self) -> dict[str, HdrHistogram]:
        """Per store: commit in the source of truth to visible in that store (empty when synchronous)."""
        return {}

    def details(self) -> dict[str, Any]:
        """Strategy-specific figures for the report (backlog, retries, saga outcomes, ...)."""
        return {}


async def pause(wake: asyncio.Event, stop: asyncio.Event, seconds: float) -> None:
    """Sleep until woken (a NOTIFY, new work), stopped, or `seconds` pass, whichever comes first.

    Background workers (the outbox relay, projections) wait with this between batches."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(wake.wait(), seconds)
    if not stop.is_set():
        wake.clear()
