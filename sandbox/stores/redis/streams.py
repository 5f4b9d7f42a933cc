"""Redis Streams as a broker (the `broker` role of the redis kind): a stream per topic under the run's prefix,
a consumer group per reading service, XACK after the effect, pending entries claimed after a member goes quiet.

Delivery: XADD returns once the entry is in the server's memory (and in its AOF as appendonly/appendfsync say:
the redis kind's durability knobs). XREADGROUP hands an entry to one member and keeps it in the group's pending
entries list until XACK; an entry pending longer than `claim_idle_ms` (its member died, or gave it back) is
taken over with XCLAIM by whichever member asks next, which raises its delivery count. Once tried
`max_deliveries` times, a failing entry is copied to the dead-letter stream and acknowledged in one MULTI.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import NoPermissionError, ResponseError

from sandbox.config import Endpoint
from sandbox.stores.contract import ServerInfo
from sandbox.stores.events import Delivery, Event
from sandbox.stores.redis.keys import unlink_prefix

# Longer than a member takes over a batch: an entry claimed while its member still works on it is delivered twice.
DEFAULT_CLAIM_IDLE_MS = 5000


class RedisStreamsBroker:
    name = "redis"

    def __init__(self, endpoint: Endpoint, namespace: str, options: Mapping[str, Any]):
        self.endpoint, self.namespace = endpoint, namespace
        self.max_deliveries = int(options.get("max_deliveries", 3))
        self.claim_idle_ms = int(options.get("claim_idle_ms", DEFAULT_CLAIM_IDLE_MS))
        self.client: Any  # redis-py types its replies as bytes | str; these are bytes (no decode_responses)
        self._declared = False
        self._persistence = ""

    def key(self, topic: str) -> str:
        return f"{self.namespace}:stream:{topic}"

    @property
    def dead_key(self) -> str:
        return f"{self.namespace}:stream:dead-letters"

    async def connect(self) -> ServerInfo:
        self.client = aioredis.Redis.from_url(self.endpoint.url, max_connections=64)
        info = await self.client.info("server")
        try:
            persistence = await self.client.config_get("appendonly")
            fsync = await self.client.config_get("appendfsync")
            self._persistence = f"appendonly={persistence.get('appendonly')}, appendfsync={fsync.get('appendfsync')}"
        except NoPermissionError:  # the run's least-privileged login: INFO says whether the AOF is on, not its fsync
            aof = (await self.client.info("persistence")).get("aof_enabled")
            self._persistence = f"appendonly={'yes' if aof else 'no'}, appendfsync not readable by this login"
        return ServerInfo("Redis", str(info["redis_version"]), "Streams")

    async def declare(self, subscriptions: Mapping[str, Sequence[str]]) -> None:
        for topic, groups in subscriptions.items():
            for group in groups:
                try:
                    await self.client.xgroup_create(self.key(topic), group, id="0", mkstream=True)
                except ResponseError as exc:  # BUSYGROUP: declared already (a restart of the run's services)
                    if "BUSYGROUP" not in str(exc):
                        raise
        self._declared = True

    async def publish(self, topic: str, event: Event) -> None:
        await self.client.xadd(self.key(topic), {"body": event.encode()})

    async def publish_many(self, topic: str, events: Sequence[Event]) -> None:
        async with self.client.pipeline(transaction=False) as pipe:  # one round trip, in order
            for event in events:
                pipe.xadd(self.key(topic), {"body": event.encode()})
            await pipe.execute()

    def consumer(self, topic: str, group: str, member: str) -> StreamConsumer:
        return StreamConsumer(self, topic, group, member)

    async def lag(self, topic: str, group: str) -> int:
        """Entries never delivered to the group (XINFO GROUPS lag, Redis 7) plus those pending an ack."""
        for g in await self.client.xinfo_groups(self.key(topic)):
            name = g["name"].decode() if isinstance(g["name"], bytes) else g["name"]
            if name == group:
                return int(g.get("lag") or 0) + int(g.get("pending") or 0)
        return 0

    async def dead_letters(self) -> list[bytes]:
        return [fields[b"body"] for _, fields in await self.client.xrange(self.dead_key)]

    def describe(self) -> str:
        return (f"Redis Streams, consumer groups, XACK after the effect, pending entries claimed after "
                f"{self.claim_idle_ms} ms idle, dead letters after {self.max_deliveries} deliveries; "
                f"{self._persistence}")

    async def teardown(self) -> None:
        if self._declared:
            await unlink_prefix(self.client, f"{self.namespace}:stream")

    async def close(self) -> None:
        if hasattr(self, "client"):
            await self.client.aclose()


class StreamConsumer:
    def __init__(self, broker: RedisStreamsBroker, topic: str, group: str, member: str):
        self.broker, self.group, self.member = broker, group, member
        self.stream = broker.key(topic)
        self.client: Any = broker.client

    async def fetch(self, count: int, wait_s: float) -> list[Delivery]:
        claimed = await self._claim(count)
        if claimed:
            return claimed
        reply = await self.client.xreadgroup(self.group, self.member, {self.stream: ">"}, count=count,
                                             block=max(1, int(wait_s * 1000)))
        return [Delivery(fields[b"body"], 1, entry_id) for _, entries in reply or [] for entry_id, fields in entries]

    async def _claim(self, count: int) -> list[Delivery]:
        """Entries pending longer than claim_idle_ms (a dead member's, or given back), taken over by this one."""
        pending = await self.client.xpending_range(self.stream, self.group, min="-", max="+", count=count,
                                                   idle=self.broker.claim_idle_ms)
        if not pending:
            return []
        times = {p["message_id"]: int(p["times_delivered"]) for p in pending}
        got = await self.client.xclaim(self.stream, self.group, self.member, self.broker.claim_idle_ms, list(times))
        # XCLAIM raised each entry's delivery count by one; an entry deleted meanwhile comes back without fields.
        return [Delivery(fields[b"body"], times[entry_id] + 1, entry_id) for entry_id, fields in got if fields]

    async def ack(self, delivery: Delivery) -> None:
        await self.client.xack(self.stream, self.group, delivery.handle)

    async def retry(self, delivery: Delivery) -> bool:
        if delivery.attempt < self.broker.max_deliveries:
            return False  # left pending: claimed again once idle
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.xadd(self.broker.dead_key, {"body": delivery.body, "group": self.group})
            pipe.xack(self.stream, self.group, delivery.handle)
            await pipe.execute()
        return True

    async def close(self) -> None:
        await asyncio.sleep(0)  # nothing held: the pending entries stay with the group


def make_broker(endpoint: Endpoint, namespace: str, options: Mapping[str, Any]) -> RedisStreamsBroker:
    return RedisStreamsBroker(endpoint, namespace, options)
