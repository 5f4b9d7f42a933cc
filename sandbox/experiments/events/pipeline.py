"""The moving parts of one event-driven run: a way out of the order service's database (the outbox relay or
change data capture), the consumer groups, the publishers, and the samplers of lag and retained WAL.

Everything runs as tasks on the run's event loop; each hop notes what it saw in the Ledger (measure/
event_ledger.py). A consumer fetches a batch, applies each delivery in order and acks it; a failure gives it back
to the broker, which redelivers it or, after max_deliveries, dead-letters it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from sandbox.experiments.events.child import GROUP as CHILD_GROUP
from sandbox.experiments.events.child import ChildGroup
from sandbox.experiments.events.services import SUBSCRIPTIONS, PoisonMessage, Services, stamped
from sandbox.measure.event_ledger import Ledger, now
from sandbox.stores.events import Broker, ChangeCapture, Event, Outbox, SourceEvent

SAMPLE_S = 0.25
MAX_BACKOFF_S = 1.0
HANDLER_RETRY_S = 15.0  # how long a handler retries in place while a server is down


@dataclass(frozen=True)
class Tuning:
    consumers: int = 2  # members per consumer group
    batch: int = 50  # deliveries a member fetches at once
    relay_batch: int = 100  # outbox rows (or decoded changes) per relay round
    idle_s: float = 0.02  # the relay's pause when it found nothing


@dataclass
class Samples:
    t0: float = field(default_factory=time.monotonic)
    lag: list[tuple[float, int]] = field(default_factory=list)  # (s, messages the groups have not acked)
    backlog: list[tuple[float, int]] = field(default_factory=list)  # (s, outbox rows not yet published)
    retained: list[tuple[float, int]] = field(default_factory=list)  # (s, WAL bytes the slot keeps)

    def at(self) -> float:
        return round(time.monotonic() - self.t0, 2)


class Pipeline:
    def __init__(self, services: Services, broker: Broker, outbox: Outbox, capture: ChangeCapture | None,
                 ledger: Ledger, tuning: Tuning, child: ChildGroup | None = None):
        self.services, self.broker, self.outbox, self.capture = services, broker, outbox, capture
        self.ledger, self.tuning = ledger, tuning
        self.child = child  # the read-model group in a process of its own (the consumer-killed fault)
        self.orders_store: Any = None  # the order service's ModelStore (a migration fault runs on it)
        self.samples = Samples()
        self.errors: list[str] = []
        self.empty_rounds = 0  # relay rounds in a row that found nothing
        self.busy = 0  # deliveries being applied now (a broker may not count them in its lag)
        self.relay_running = asyncio.Event()
        self._stop = asyncio.Event()
        self._relay: asyncio.Task[None] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._consumers: dict[str, asyncio.Task[None]] = {}

    # -- publishing ------------------------------------------------------------------------------------------
    async def publish(self, topic: str, event: Event) -> None:
        sent = stamped(event)
        await self.broker.publish(topic, sent)
        self.ledger.confirmed(topic, sent.id, sent.times, now())

    # -- the way out of the database -------------------------------------------------------------------------
    async def _relay_round(self) -> int:
        n = self.tuning.relay_batch
        if self.capture is None:
            async with self.outbox.claim(n) as claimed:  # a failure below rolls the claim back: published again
                await self._publish_sources(claimed)
            return len(claimed)
        events, position = await self.capture.peek(n)
        await self._publish_sources(events)
        await self.capture.confirm(position)  # only now may the server recycle that WAL
        return len(events)

    async def _publish_sources(self, sources: list[SourceEvent]) -> None:
        """The batch in commit order, all confirmations awaited together."""
        if not sources:
            return
        t = now()
        sent = [stamped(s.event.at(commit=s.committed, capture=t)) for s in sources]
        await self.broker.publish_many("orders", sent)
        confirmed = now()
        # Counted once the batch is out: a batch given back (the broker down) comes again and is captured then; its
        # failed tries are not captures (they made commit -> captured hold each retry, 3,931 for 240 events).
        for s in sources:
            self.ledger.captured(s.committed, t)
        for event in sent:
            self.ledger.confirmed("orders", event.id, event.times, confirmed)

    async def _relay_loop(self) -> None:
        backoff = self.tuning.idle_s
        while not self._stop.is_set():
            try:
                handled = await self._relay_round()
                self.empty_rounds = 0 if handled else self.empty_rounds + 1
                backoff = self.tuning.idle_s
                if handled == 0:
                    await self._pause(self.tuning.idle_s)
            except Exception as exc:  # the database or the broker failed: the batch comes again
                self._note(f"relay: {type(exc).__name__}: {exc}")
                self.empty_rounds = 0
                await self._pause(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_S)

    def start_relay(self) -> None:
        self.empty_rounds = 0
        self._relay = asyncio.create_task(self._relay_loop())

    async def stop_relay(self) -> None:
        """The CDC consumer (or the relay) stopped: nothing leaves the database until start_relay."""
        if self._relay is not None:
            self._relay.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._relay
            self._relay = None

    # -- consumers ------------------------------------------------------------------------------------------
    async def _consume(self, topic: str, group: str, member: str,
                       handler: Callable[[Event], Awaitable[None]]) -> None:
        consumer = self.broker.consumer(topic, group, member)
        try:
            while not self._stop.is_set():
                try:
                    deliveries = await consumer.fetch(self.tuning.batch, 0.2)
                except Exception as exc:  # the broker is down: try again
                    self._note(f"{group} fetch: {type(exc).__name__}: {exc}")
                    await self._pause(0.2)
                    continue
                for d in deliveries:
                    await self._apply(consumer, group, handler, d)
        finally:
            with contextlib.suppress(Exception):
                await consumer.close()

    async def _apply(self, consumer: Any, group: str, handler: Callable[[Event], Awaitable[None]], d: Any) -> None:
        received = now()
        event = Event.decode(d.body)
        self.ledger.received(group, event.id, event.times, received)
        self.busy += 1
        try:
            await self._handle(handler, event)
            await consumer.ack(d)
        except Exception as exc:
            self._note(f"{group} {event.type}: {type(exc).__name__}: {exc}")
            self.ledger.retried[group] += 1
            with contextlib.suppress(Exception):
                if await consumer.retry(d):
                    self.ledger.dead[group] += 1
            return
        finally:
            self.busy -= 1
        self.ledger.done(group, event.id, event.key, event.seq, event.times, received, now())

    async def _handle(self, handler: Callable[[Event], Awaitable[None]], event: Event) -> None:
        """Apply one event, retrying in place with backoff while what fails is a server (a broker or store that is
        down): given back at once, a delivery would use up its max_deliveries in milliseconds and be dead-lettered
        although nothing is wrong with it (seen: 2 sagas left unfinished by a 3 s RabbitMQ outage). A poison
        message fails at once and goes back to the broker, which counts its tries."""
        deadline = time.monotonic() + HANDLER_RETRY_S
        pause = 0.05
        while True:
            try:
                return await handler(event)
            except PoisonMessage:
                raise
            except Exception as exc:
                if time.monotonic() + pause > deadline:
                    raise
                self._note(f"retrying {event.type}: {type(exc).__name__}: {exc}")
                await asyncio.sleep(pause)
                pause = min(pause * 2, MAX_BACKOFF_S)

    def start_consumers(self) -> None:
        handlers = self.services.handlers()
        for topic, groups in SUBSCRIPTIONS.items():
            for group in groups:
                if self.child is not None and group == CHILD_GROUP:
                    continue  # served by the child process
                for i in range(self.tuning.consumers):
                    member = f"{group}-{i}"
                    self._consumers[f"{topic}/{member}"] = asyncio.create_task(
                        self._consume(topic, group, member, handlers[(topic, group)]))

    # -- samplers and life ----------------------------------------------------------------------------------
    async def lag(self) -> int:
        return sum([await self.broker.lag(t, g) for t, groups in SUBSCRIPTIONS.items() for g in groups])

    async def _sample(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(Exception):  # a server down: no sample this time
                self.samples.lag.append((self.samples.at(), await self.lag()))
                if self.capture is None:
                    self.samples.backlog.append((self.samples.at(), await self.outbox.unpublished()))
                else:
                    self.samples.retained.append((self.samples.at(), await self.capture.retained_bytes()))
            await self._pause(SAMPLE_S)

    async def start(self) -> None:
        await self.broker.declare(SUBSCRIPTIONS)
        if self.capture is not None:
            await self.capture.open()
        if self.child is not None:
            await self.child.start()
        self.start_relay()
        self.start_consumers()
        self._tasks.append(asyncio.create_task(self._sample()))

    async def settled(self, timeout_s: float, done: Callable[[], Coroutine[Any, Any, bool]]) -> bool:
        """Wait until the relay's last rounds found nothing, every group's lag is 0 and `done()` says so, twice in a
        row (0.1 s apart: a handler's new outbox row is seen by the relay's next round, every idle_s)."""
        deadline = time.monotonic() + timeout_s
        quiet = 0
        while time.monotonic() < deadline:
            try:
                busy = self.busy + (self.child.busy if self.child is not None else 0)
                ok = self.empty_rounds >= 3 and not busy and await self.lag() == 0 and await done()
            except Exception:  # a server still coming back
                ok = False
            quiet = quiet + 1 if ok else 0
            if quiet >= 2:
                return True
            await asyncio.sleep(0.1)
        return False

    async def stop(self) -> None:
        self._stop.set()
        await self.stop_relay()
        tasks = [*self._tasks, *self._consumers.values()]
        await asyncio.gather(*tasks, return_exceptions=True)
        if self.child is not None:
            await self.child.stop()

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._stop.wait()

    def _note(self, text: str) -> None:
        if len(self.errors) < 5:
            self.errors.append(text[:200])
