"""What services that talk through events need of the stores and brokers they own (docs/events.md).

Each is a small protocol a store kind offers as one of its roles (StoreKind.roles), implemented in that
store's folder: `broker` (a log or queue with consumer groups, confirms and acknowledgements), `event_source`
(the transactional outbox and change data capture of a ModelStore), `inventory` (stock reserved and released
idempotently by order) and `read_model` (a projection whose effects are counted per event id). These sit beside
contract.py's ModelStore rather than in it: they are what one service needs of its own store, not what every
store must do with a model.

Rules every implementation keeps: nothing times itself or retries (the callers measure and retry); teardown
drops only what the run created; a broker's publish returns only once the broker has confirmed the message.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from sandbox.config import Endpoint
from sandbox.stores.contract import ServerInfo
from sandbox.workload.dataset import Instance


@dataclass(frozen=True)
class Event:
    """A domain event. Its id is derived from what it says (type, key, seq), so a republish carries the same
    id and consumers can recognise a duplicate; `seq` orders the events of one key (one aggregate)."""

    id: str
    type: str
    key: str
    seq: int
    data: Mapping[str, Any] = field(default_factory=dict)
    times: Mapping[str, float] = field(default_factory=dict)  # epoch seconds per hop: commit, capture, publish

    def encode(self) -> bytes:
        return json.dumps({"id": self.id, "type": self.type, "key": self.key, "seq": self.seq, "data": self.data,
                           "t": self.times}, separators=(",", ":")).encode()

    @classmethod
    def decode(cls, body: bytes | str) -> Event:
        raw = json.loads(body)
        return cls(raw["id"], raw["type"], raw["key"], int(raw["seq"]), raw.get("data", {}), raw.get("t", {}))

    def at(self, **times: float) -> Event:
        return Event(self.id, self.type, self.key, self.seq, self.data, {**self.times, **times})


@dataclass
class Delivery:
    """One message handed to a consumer: its body, how many times it has been delivered (1 = the first), and
    the broker's own handle for ack and retry."""

    body: bytes
    attempt: int
    handle: Any = None


class Consumer(Protocol):
    """One member of a consumer group on one topic."""

    async def fetch(self, count: int, wait_s: float) -> list[Delivery]:
        """Up to `count` deliveries: redeliveries due (a dead member's, or retried) and new ones; waits up to
        wait_s for the first."""

    async def ack(self, delivery: Delivery) -> None: ...

    async def retry(self, delivery: Delivery) -> bool:
        """Give a delivery back after a failure: it comes again later, or, once it has been tried the broker's
        `max_deliveries` times, goes to the dead letters (True)."""

    async def close(self) -> None:
        """Stop taking deliveries; what was fetched and not acked comes again to another member."""


class Broker(Protocol):
    name: str  # its kind's name
    max_deliveries: int

    async def connect(self) -> ServerInfo: ...

    async def declare(self, subscriptions: Mapping[str, Sequence[str]]) -> None:
        """Create the run's topics (topic -> the consumer groups reading it) and the dead letters."""

    async def publish(self, topic: str, event: Event) -> None:
        """Send one event; returns once the broker confirmed it (persisted as its durability settings say)."""

    async def publish_many(self, topic: str, events: Sequence[Event]) -> None:
        """Send several events in order, waiting for all the confirmations at once (the relay's batch)."""

    def consumer(self, topic: str, group: str, member: str) -> Consumer: ...

    async def lag(self, topic: str, group: str) -> int:
        """Messages of the topic the group has not acknowledged yet (as far as the broker tells)."""

    async def dead_letters(self) -> list[bytes]: ...

    def describe(self) -> str:
        """Its durability settings and delivery semantics, one line for reports."""

    async def teardown(self) -> None: ...
    async def close(self) -> None: ...


@dataclass(frozen=True)
class SourceEvent:
    """An event as the source database keeps it (an outbox row), with when it was committed there."""

    event: Event
    committed: float  # epoch seconds (the database's clock)


class Outbox(Protocol):
    """The transactional outbox of an order service's ModelStore: writes and their events commit together."""

    async def create(self) -> None: ...

    async def write_with_events(self, instance: Instance, events: Sequence[Event], version: int | None = None) -> bool:
        """The root instance (inserted; or at `version`, applied only over an older one) and, only if it was
        applied, its events, in one transaction; True if applied."""

    def claim(self, limit: int) -> AbstractAsyncContextManager[list[SourceEvent]]:
        """Unpublished events, locked against other relays; marked published when the block exits cleanly."""

    async def events(self) -> list[SourceEvent]:
        """Every event the outbox holds (the checker's source of truth)."""

    async def unpublished(self) -> int: ...

    async def state_of(self, entity: str, field_name: str) -> dict[str, str]:
        """key -> the field's value for every instance of the entity (the saga checker reads the order states)."""


class ChangeCapture(Protocol):
    """Change data capture of the outbox's inserts from the database's log (a logical replication slot)."""

    async def open(self) -> None:
        """Create the slot (from now on the database keeps the log the slot has not confirmed)."""

    async def peek(self, limit: int) -> tuple[list[SourceEvent], Any]:
        """Up to `limit` captured events past the confirmed position, and the position after them (None: none)."""

    async def confirm(self, position: Any) -> None:
        """Everything up to `position` is published: the database may recycle that log."""

    async def retained_bytes(self) -> int:
        """Log the database keeps for the slot (behind its confirmed position)."""

    async def close(self) -> None:
        """Drop the slot."""


class Inventory(Protocol):
    """An inventory service's stock, reserved and released per order, idempotently."""

    async def load(self, stock: Mapping[str, int]) -> None: ...

    async def reserve(self, order_id: str, lines: Sequence[tuple[str, int]]) -> str:
        """"reserved" (all lines taken) or "rejected" (one short: nothing taken); asked again for the same
        order, the same answer and no second reservation."""

    async def release(self, order_id: str) -> bool:
        """Put a reserved order's stock back; False when it holds no reservation (already released, rejected)."""

    async def reservations(self) -> dict[str, str]:
        """order id -> reserved | released | rejected."""

    async def stock(self) -> dict[str, int]: ...
    async def teardown(self) -> None: ...
    async def close(self) -> None: ...


class ReadModel(Protocol):
    """A projection (revenue per customer) whose applied effects are counted per event id."""

    async def create(self) -> None: ...

    async def apply(self, event_id: str, key: str, amount: Decimal, idempotent: bool) -> bool:
        """Add `amount` to the key's total; with `idempotent`, only the first time this event id comes."""

    async def applications(self) -> dict[str, int]:
        """event id -> how many times its effect was applied (1 is right; above 1, a duplicate effect)."""

    async def totals(self) -> dict[str, Decimal]: ...
    async def teardown(self) -> None: ...
    async def close(self) -> None: ...


class BrokerFactory(Protocol):
    def __call__(self, endpoint: Endpoint, namespace: str, options: Mapping[str, Any]) -> Broker: ...


class BrokerProbe:
    """A broker kind's probe (StoreKind.probe): `sandbox status` asks it who the server is."""

    def __init__(self, endpoint: Endpoint):
        self.endpoint = endpoint

    async def connect(self) -> ServerInfo:
        raise NotImplementedError

    async def close(self) -> None:
        pass  # connect() closes its own connection
