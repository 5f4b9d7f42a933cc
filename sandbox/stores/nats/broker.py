"""NATS JetStream as a broker (the `broker` role of the nats kind): a stream per topic, a durable pull consumer
per reading service, explicit acks, redelivery after a nak or ack_wait, dead letters after max_deliveries.

Delivery: a publish returns with JetStream's PubAck, once the stream stored the message (file storage by default,
the kind's `storage` knob); the publisher sets Nats-Msg-Id to the event id, so JetStream drops a republish of the
same event inside the stream's duplicate window (2 minutes): a broker-side dedupe the other brokers lack. A
delivery not acked within ack_wait (its member died) comes again to any member; a nak brings it back at once.
After max_deliveries a failing message is copied to the dead-letter stream and terminated (JetStream itself only
stops redelivering it and sends an advisory).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping, Sequence
from typing import Any

import nats
from nats.errors import TimeoutError as NatsTimeout
from nats.js import api
from nats.js.errors import NotFoundError

from sandbox.config import Endpoint
from sandbox.stores.contract import ServerInfo
from sandbox.stores.events import BrokerProbe, Delivery, Event

ACK_WAIT_S = 5.0


class NatsBroker:
    name = "nats"

    def __init__(self, endpoint: Endpoint, namespace: str, options: Mapping[str, Any]):
        self.endpoint, self.namespace = endpoint, namespace
        self.max_deliveries = int(options.get("max_deliveries", 3))
        self.ack_wait_s = float(options.get("ack_wait_s", ACK_WAIT_S))
        self.storage = api.StorageType.MEMORY if options.get("storage") == "memory" else api.StorageType.FILE
        self.nc: Any = None
        self.js: Any = None
        self._streams: list[str] = []

    def stream(self, topic: str) -> str:
        return f"{self.namespace}_{topic}".replace("-", "_").replace(".", "_")

    def subject(self, topic: str) -> str:
        return f"{self.namespace}.{topic}"

    async def connect(self) -> ServerInfo:
        self.nc = await nats.connect(self.endpoint.url, connect_timeout=5, max_reconnect_attempts=-1,
                                     reconnect_time_wait=0.2, error_cb=_quiet)
        self.js = self.nc.jetstream()
        return ServerInfo("NATS", str(self.nc._server_info.get("version", "?")), "JetStream")

    async def declare(self, subscriptions: Mapping[str, Sequence[str]]) -> None:
        for topic, groups in {**subscriptions, "dead-letters": ()}.items():
            name = self.stream(topic)
            await self.js.add_stream(name=name, subjects=[self.subject(topic)], storage=self.storage)
            self._streams.append(name)
            for group in groups:
                await self.js.add_consumer(name, api.ConsumerConfig(
                    durable_name=group, ack_policy=api.AckPolicy.EXPLICIT, ack_wait=self.ack_wait_s,
                    max_deliver=-1, max_ack_pending=10_000))

    async def publish(self, topic: str, event: Event) -> None:
        await self.js.publish(self.subject(topic), event.encode(), headers={"Nats-Msg-Id": event.id})

    async def publish_many(self, topic: str, events: Sequence[Event]) -> None:
        """In order on one connection, the PubAcks awaited together. The first goes alone: nats-py's first request
        awaits the set-up of its reply subscription, and the others could overtake it meanwhile."""
        if not events:
            return
        await self.publish(topic, events[0])
        await asyncio.gather(*(self.publish(topic, e) for e in events[1:]))

    def consumer(self, topic: str, group: str, member: str) -> NatsConsumer:
        return NatsConsumer(self, topic, group)

    async def lag(self, topic: str, group: str) -> int:
        info = await self.js.consumer_info(self.stream(topic), group)
        return int(info.num_pending or 0) + int(info.num_ack_pending or 0)

    async def dead_letters(self) -> list[bytes]:
        sub = await self.js.subscribe(self.subject("dead-letters"), ordered_consumer=True)
        out = []
        try:
            while True:
                out.append((await sub.next_msg(timeout=0.3)).data)
        except NatsTimeout:
            return out
        finally:
            await sub.unsubscribe()

    def describe(self) -> str:
        return (f"NATS JetStream, {self.storage.value} storage, durable pull consumers, explicit acks (ack_wait "
                f"{self.ack_wait_s:g} s), Nats-Msg-Id dedupe, dead letters after {self.max_deliveries} deliveries")

    async def teardown(self) -> None:
        for name in self._streams:
            with contextlib.suppress(NotFoundError):
                await self.js.delete_stream(name)

    async def close(self) -> None:
        if self.nc is not None:
            await self.nc.close()


class NatsConsumer:
    def __init__(self, broker: NatsBroker, topic: str, group: str):
        self.broker, self.topic, self.group = broker, topic, group
        self.sub: Any = None

    async def fetch(self, count: int, wait_s: float) -> list[Delivery]:
        if self.sub is None:
            self.sub = await self.broker.js.pull_subscribe_bind(self.group, self.broker.stream(self.topic))
        try:
            msgs = await self.sub.fetch(count, timeout=wait_s)
        except (NatsTimeout, TimeoutError):  # nats-py raises either when nothing came in time
            return []
        return [Delivery(m.data, int(m.metadata.num_delivered), m) for m in msgs]

    async def ack(self, delivery: Delivery) -> None:
        await delivery.handle.ack()

    async def retry(self, delivery: Delivery) -> bool:
        if delivery.attempt < self.broker.max_deliveries:
            await delivery.handle.nak()
            return False
        await self.broker.js.publish(self.broker.subject("dead-letters"), delivery.body)
        await delivery.handle.term()
        return True

    async def close(self) -> None:
        if self.sub is not None:
            await self.sub.unsubscribe()


class NatsProbe(BrokerProbe):
    """`sandbox status`: the server's version, from a connection."""

    async def connect(self) -> ServerInfo:
        nc = await nats.connect(self.endpoint.url, connect_timeout=5, max_reconnect_attempts=0, error_cb=_quiet)
        try:
            return ServerInfo("NATS", str(nc._server_info.get("version", "?")), "JetStream" if nc._server_info.get(
                "jetstream") else "no JetStream")
        finally:
            await nc.close()


async def _quiet(exc: Exception) -> None:
    """nats-py logs every connection error with its traceback by default; the caller sees the exception."""


def make_broker(endpoint: Endpoint, namespace: str, options: Mapping[str, Any]) -> NatsBroker:
    return NatsBroker(endpoint, namespace, options)
