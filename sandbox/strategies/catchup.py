"""The catch-up machine shared by the outbox relay and the event-sourcing projections.

Both bring stores up to date with changes committed in the source of truth (PostgreSQL), the same way:
fetch the next batch after a checkpoint, apply it to the target stores as version-gated upserts (the
model stores' Upsert: stores/contract.py), advance the checkpoint. A store failure or a crash between
apply and advance repeats the batch, and the gated upserts turn the repeat into no-ops: delivery is at
least once, the effect exactly once.
What differs is only where a batch comes from and how its checkpoint moves (an outbox claim marked
published, an event-log position saved), which each passes in as `fetch`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any

from hdrh.histogram import HdrHistogram

from sandbox.measure.latency import new_histogram, record_us
from sandbox.measure.timing import TimedStore
from sandbox.stores.contract import TransactionalSource
from sandbox.strategies.base import StrategyOptions
from sandbox.workload.dataset import Instance

MAX_BACKOFF_S = 2.0


@dataclass(frozen=True)
class Change:
    """A root instance's state to bring the stores to: at an event version, and when it was committed."""

    instance: Instance
    version: int
    committed_epoch: float  # the source's clock_timestamp() of the commit (for the lag)


@dataclass(frozen=True)
class Batch:
    """What a fetch hands over: the next changes after the checkpoint, and how to move it past them."""

    covers: int  # source rows read (outbox rows, events); 0: caught up
    changes: Sequence[Change]  # what they mean for the stores (events fold into one state per order)
    advance: Callable[[], Awaitable[None]]


# fetch(limit): the next batch, inside whatever must stay open until the checkpoint moved (a transaction).
Fetch = Callable[[int], AbstractAsyncContextManager[Batch]]


class ApplyFailed(Exception):
    """A target store failed part of a batch; the checkpoint stays where it was."""


@dataclass
class CatchUpStats:
    """What catching up did, per target store; shared by all the loops feeding the same stores."""

    lag: dict[str, HdrHistogram]  # commit in the source of truth -> upsert applied in the store
    applied: dict[str, int]
    skipped: dict[str, int]  # upserts the store already had: redeliveries and replays
    advanced: int = 0  # source rows the checkpoint moved past
    retries: int = 0  # batch attempts given up (a store or the source failed) and tried again
    errors: list[str] = field(default_factory=list)  # the first errors of the source

    @classmethod
    def of(cls, targets: Iterable[str]) -> CatchUpStats:
        names = list(targets)
        return cls({n: new_histogram() for n in names}, dict.fromkeys(names, 0), dict.fromkeys(names, 0))

    def note(self, exc: BaseException) -> None:
        if len(self.errors) < 3:
            self.errors.append(f"{type(exc).__name__}: {exc}"[:200])


class CatchUp:
    """One loop bringing `targets` up to date from `fetch`."""

    def __init__(self, fetch: Fetch, targets: dict[str, TimedStore], options: StrategyOptions,
                 source_errors: tuple[type[BaseException], ...], stats: CatchUpStats | None = None):
        self.fetch = fetch
        self.source_errors = source_errors  # the source of truth failed (contract.TransactionalSource.errors)
        self.targets = targets
        self.options = options
        self.stats = stats or CatchUpStats.of(targets)

    async def run_once(self) -> int:
        """Apply the next batch and advance past it; the source rows it covered (0: caught up)."""
        async with self.fetch(self.options.relay_batch) as batch:
            if not batch.covers:
                return 0
            applied = await asyncio.gather(*(self._apply(ts, batch.changes) for ts in self.targets.values()))
            if not all(applied):
                raise ApplyFailed  # leaves `fetch` by exception: an outbox claim rolls back
            await batch.advance()
        self.stats.advanced += batch.covers
        return batch.covers

    async def run(self, workers: Workers) -> None:
        """Catch up in the background until stopped; back off after a failure, idle when caught up."""
        backoff = self.options.retry_backoff_s
        while not workers.stopped:
            retry: tuple[type[BaseException], ...] = (ApplyFailed, *self.source_errors)
            try:
                handled = await self.run_once()
            except retry as exc:
                self.stats.retries += 1
                if not isinstance(exc, ApplyFailed):
                    self.stats.note(exc)
                await workers.pause(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_S)
                continue
            backoff = self.options.retry_backoff_s
            if handled == 0:
                await workers.pause(self.options.idle_poll_s)

    async def _apply(self, ts: TimedStore, changes: Sequence[Change]) -> bool:
        """Upsert the changes into one store; False at the first failure (the rest would fail too)."""
        failed = False
        gate = asyncio.Semaphore(self.options.deliver_concurrency)
        stats = self.stats

        async def one(change: Change) -> None:
            nonlocal failed
            async with gate:
                if failed:
                    return
                ok, applied = await ts.call("upsert", lambda: ts.store.upsert(change.instance, change.version),
                                            (str(change.instance[ts.key]),))
                if not ok:
                    failed = True
                elif applied:
                    stats.applied[ts.name] += 1
                    record_us(stats.lag[ts.name], int((time.time() - change.committed_epoch) * 1e9))
                else:
                    stats.skipped[ts.name] += 1

        await asyncio.gather(*(one(c) for c in changes))
        return not failed


class Workers:
    """A strategy's background loops: their tasks, one stop signal, and a wake-up fed by the source's
    notifications (LISTEN/NOTIFY)."""

    def __init__(self, source_errors: tuple[type[BaseException], ...] = ()) -> None:
        self.stop_signal = asyncio.Event()
        self.wake = asyncio.Event()
        self.source_errors = source_errors
        self._tasks: list[asyncio.Task[None]] = []
        self._unlisten: Callable[[], Awaitable[None]] | None = None

    @property
    def stopped(self) -> bool:
        return self.stop_signal.is_set()

    async def listen(self, source: TransactionalSource, channel: str) -> None:
        """Wake the loops on every notification on `channel`; without it they still poll every idle_poll_s."""
        self._unlisten = await source.listen(channel, self.wake.set)

    def start(self, loops: Iterable[Coroutine[Any, Any, None]]) -> None:
        self._tasks += [asyncio.create_task(loop) for loop in loops]

    async def pause(self, seconds: float) -> None:
        """Sleep until woken (a NOTIFY, new work), stopped, or `seconds` pass, whichever comes first."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self.wake.wait()
        if not self.stopped:
            self.wake.clear()

    async def settle(self, caught_up: Callable[[], Awaitable[bool]], timeout_s: float) -> bool:
        """Wait until caught_up() says so, waking the loops meanwhile; False if it did not in time."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with contextlib.suppress(*self.source_errors):
                if await caught_up():
                    return True
            self.wake.set()
            await asyncio.sleep(0.1)
        return False

    async def stop(self) -> None:
        self.stop_signal.set()
        self.wake.set()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._unlisten is not None:
            with contextlib.suppress(*self.source_errors):
                await self._unlisten()
