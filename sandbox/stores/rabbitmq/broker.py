"""RabbitMQ as a broker (the `broker` role of the rabbitmq kind): a direct exchange, a durable queue per (topic,
reading service), publisher confirms, manual acks, and a dead-letter exchange.

Delivery: a publish on a confirming channel returns once the broker acked it (for a persistent message on a
quorum queue: once it is written to the queue's log; `mandatory` makes an unroutable one fail). Each member has a
channel of its own with prefetch = its batch; an unacked delivery comes back to another member when the channel
closes (its member died). Quorum queues (the default `queue_type`) count deliveries (x-delivery-count) and
dead-letter a message returned more than x-delivery-limit times, through the run's dead-letter exchange; classic
queues count nothing, so there a failing delivery is rejected to the dead letters once it is a redelivery.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping, Sequence
from typing import Any

import aio_pika
from aio_pika.abc import AbstractIncomingMessage

from sandbox.config import Endpoint
from sandbox.stores.contract import ServerInfo
from sandbox.stores.events import BrokerProbe, Delivery, Event

# aiormq logs each failed connection attempt at WARNING, which Python prints on stderr when nothing is configured;
# the caller gets the exception anyway (and `sandbox status` shows it), so the library's own log is left unprinted.
for _library in ("aiormq", "aio_pika"):
    logging.getLogger(_library).addHandler(logging.NullHandler())


PUBLISH_TIMEOUT_S = 10.0


class RabbitBroker:
    name = "rabbitmq"

    def __init__(self, endpoint: Endpoint, namespace: str, options: Mapping[str, Any]):
        self.endpoint, self.namespace = endpoint, namespace
        self.max_deliveries = int(options.get("max_deliveries", 3))
        self.queue_type = str(options.get("queue_type", "quorum"))
        self.persistent = bool(options.get("persistent", True))
        self.conn: Any = None
        self.channel: Any = None
        self.exchange: Any = None
        self._queues: list[str] = []
        self._version = ""
        self.generation = 0  # connections opened: a consumer whose channel belongs to an older one starts again
        self._lock = asyncio.Lock()

    def queue(self, topic: str, group: str) -> str:
        return f"{self.namespace}.{topic}.{group}"

    @property
    def dead_queue(self) -> str:
        return f"{self.namespace}.dead-letters"

    async def connect(self) -> ServerInfo:
        await self._open()
        props = self.conn.transport.connection.server_properties
        self._version = str(props.get("version", "?"))
        return ServerInfo("RabbitMQ", self._version, f"{props.get('platform', '')!s}")

    async def _open(self) -> None:
        """A plain connection, reopened by whoever finds it closed (aio-pika's robust connection restored its
        consumers unreliably after a broker restart here: the saga stalled, 97 events left in flight)."""
        self.conn = await aio_pika.connect(self.endpoint.url, timeout=10)
        self.channel = await self.conn.channel(publisher_confirms=True)
        self.exchange = None
        self.generation += 1

    async def _ready(self) -> None:
        if self.conn is None or self.conn.is_closed or self.channel is None or self.channel.is_closed:
            async with self._lock:
                if self.conn is None or self.conn.is_closed or self.channel.is_closed:
                    with contextlib.suppress(Exception):
                        await self.conn.close()
                    await self._open()
        if self.exchange is None:
            self.exchange = await self.channel.get_exchange(f"{self.namespace}.events", ensure=False)

    async def declare(self, subscriptions: Mapping[str, Sequence[str]]) -> None:
        ch = self.channel
        dead = await ch.declare_exchange(f"{self.namespace}.dead", aio_pika.ExchangeType.FANOUT, durable=True)
        dq = await ch.declare_queue(self.dead_queue, durable=True)
        await dq.bind(dead)
        self._queues.append(self.dead_queue)
        self.exchange = await ch.declare_exchange(f"{self.namespace}.events", aio_pika.ExchangeType.DIRECT,
                                                  durable=True)
        for topic, groups in subscriptions.items():
            for group in groups:
                args: dict[str, Any] = {"x-queue-type": self.queue_type,
                                        "x-dead-letter-exchange": f"{self.namespace}.dead"}
                if self.queue_type == "quorum":
                    args["x-delivery-limit"] = self.max_deliveries - 1  # returned more often: dead-lettered
                q = await ch.declare_queue(self.queue(topic, group), durable=True, arguments=args)
                await q.bind(self.exchange, routing_key=topic)
                self._queues.append(self.queue(topic, group))

    def _message(self, event: Event) -> aio_pika.Message:
        mode = aio_pika.DeliveryMode.PERSISTENT if self.persistent else aio_pika.DeliveryMode.NOT_PERSISTENT
        return aio_pika.Message(event.encode(), delivery_mode=mode, message_id=event.id)

    async def publish(self, topic: str, event: Event) -> None:
        await self._ready()
        # A timeout: a confirm asked for just before the connection dropped may never come (then the caller retries).
        await self.exchange.publish(self._message(event), routing_key=topic, mandatory=True,
                                    timeout=PUBLISH_TIMEOUT_S)

    async def publish_many(self, topic: str, events: Sequence[Event]) -> None:
        """In order on the one confirming channel, the confirms awaited together."""
        await self._ready()
        await asyncio.gather(*(self.publish(topic, e) for e in events))

    def consumer(self, topic: str, group: str, member: str) -> RabbitConsumer:
        return RabbitConsumer(self, self.queue(topic, group))

    async def lag(self, topic: str, group: str) -> int:
        """Ready messages (RabbitMQ's AMQP side does not count those delivered and not yet acked). On a channel of
        its own each time: a passive declare that fails (a quorum queue still recovering after a restart) closes
        its channel, and the publishing channel must not be that one."""
        await self._ready()
        ch = await self.conn.channel()
        try:
            q = await ch.declare_queue(self.queue(topic, group), passive=True)
            return int(q.declaration_result.message_count or 0)
        finally:
            if not ch.is_closed:
                await ch.close()

    async def dead_letters(self) -> list[bytes]:
        await self._ready()
        ch = await self.conn.channel()
        try:
            q = await ch.declare_queue(self.dead_queue, passive=True)
            out = []
            while (m := await q.get(no_ack=False, fail=False)) is not None:
                out.append(m.body)
            return out  # unacked: back in the queue when the channel closes
        finally:
            await ch.close()

    def describe(self) -> str:
        delivery = "persistent" if self.persistent else "transient"
        return (f"RabbitMQ {self._version}, {self.queue_type} queues, {delivery} messages, publisher confirms, "
                f"manual acks, dead-letter exchange after {self.max_deliveries} deliveries")

    async def teardown(self) -> None:
        if self.channel is None:
            return
        await self._ready()
        for name in self._queues:
            await self.channel.queue_delete(name)
        for name in ("events", "dead"):
            await self.channel.exchange_delete(f"{self.namespace}.{name}")

    async def close(self) -> None:
        if self.conn is not None:
            await self.conn.close()


class RabbitConsumer:
    def __init__(self, broker: RabbitBroker, queue: str):
        self.broker, self.queue_name = broker, queue
        self.channel: Any = None
        self.generation = -1
        self.inbox: asyncio.Queue[AbstractIncomingMessage] = asyncio.Queue()

    async def _start(self, prefetch: int) -> None:
        await self.broker._ready()
        self.generation = self.broker.generation
        self.inbox = asyncio.Queue()  # what an old channel handed over cannot be acked on a new one: it comes again
        self.channel = await self.broker.conn.channel()
        await self.channel.set_qos(prefetch_count=prefetch)
        q = await self.channel.declare_queue(self.queue_name, passive=True)

        async def take(message: AbstractIncomingMessage) -> None:
            await self.inbox.put(message)

        await q.consume(take, no_ack=False)

    async def fetch(self, count: int, wait_s: float) -> list[Delivery]:
        if self.channel is None or self.channel.is_closed or self.broker.conn.is_closed or \
                self.generation != self.broker.generation:
            await self._start(count)
        try:
            async with asyncio.timeout(wait_s):
                first = await self.inbox.get()
        except TimeoutError:
            return []
        got = [first]
        while len(got) < count and not self.inbox.empty():
            got.append(self.inbox.get_nowait())
        return [Delivery(m.body, self._attempt(m), m) for m in got]

    @staticmethod
    def _attempt(m: AbstractIncomingMessage) -> int:
        count: Any = (m.headers or {}).get("x-delivery-count")
        if count is not None:
            return int(count) + 1  # quorum queues: how often it was returned before
        return 2 if m.redelivered else 1

    async def ack(self, delivery: Delivery) -> None:
        await delivery.handle.ack()

    async def retry(self, delivery: Delivery) -> bool:
        dead = delivery.attempt >= self.broker.max_deliveries
        if self.broker.queue_type == "quorum":
            await delivery.handle.nack(requeue=True)  # the queue dead-letters it past x-delivery-limit
        else:
            await delivery.handle.nack(requeue=not delivery.handle.redelivered)
            dead = bool(delivery.handle.redelivered)
        return dead

    async def close(self) -> None:
        if self.channel is not None:
            await self.channel.close()


class RabbitProbe(BrokerProbe):
    """`sandbox status`: the server's version, from the AMQP handshake."""

    async def connect(self) -> ServerInfo:
        conn: Any = await aio_pika.connect(self.endpoint.url, timeout=5)
        try:
            props = conn.transport.connection.server_properties
            return ServerInfo("RabbitMQ", str(props.get("version", "?")), f"{props.get('platform', '')!s}")
        finally:
            await conn.close()


def make_broker(endpoint: Endpoint, namespace: str, options: Mapping[str, Any]) -> RabbitBroker:
    return RabbitBroker(endpoint, namespace, options)
