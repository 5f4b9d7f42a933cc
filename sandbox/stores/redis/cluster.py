"""Redis Cluster (redis-py's RedisCluster): the Redis model laid out so that one order is one slot.

Redis Cluster runs a MULTI/EXEC only when every key in it hashes to the same slot, and the standalone
model updates an order's hash, the id/status/customer indexes and the per-status counters together.
So the keyspace is cut into slot buckets: an order belongs to the slot its id hashes to (CRC16 of the
id, as if it were a plain key), and every key of that order and of that slot's indexes and counters
carries a hash tag chosen to hash to that same slot:

    <ns>:{<tag>}:order:<id>             hash, the order
    <ns>:{<tag>}:orders                 sorted set, the slot's order ids by creation time
    <ns>:{<tag>}:status:<status>        set, the slot's order ids per status
    <ns>:{<tag>}:customer:<customer>    sorted set, the slot's orders of one customer
    <ns>:{<tag>}:stats:count / :stats:revenue_cents   per-status counters of the slot (cents, exact)

One order's write then runs on one node, as atomic as on a single server, and the indexes and
counters spread over all nodes with the orders. The price: a question about all orders (counts per
status, a scan, one customer's orders) reads every slot bucket and adds them up.

The write is a script (`write_path="script"`, the default) that does nothing when the order's hash
already exists, rather than a MULTI/EXEC (`write_path="multi"`). redis-py re-sends a cluster
transaction after a connection error even when the first EXEC ran, which it cannot know: while slots
move, that applied some orders' counter increments twice (measured: docs/sharding.md). A
write that checks first is safe to repeat, so the client's retries do no harm.
"""

from __future__ import annotations

import binascii
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from functools import cache

from redis.asyncio.cluster import RedisCluster

from sandbox.stores.base import Capability, ServerInfo, StatusTotal, Store
from sandbox.stores.redis.adapter import RedisOptions, RedisStore, epoch_ms
from sandbox.workload.model import Catalog, Order, OrderRecord
from sandbox.workload.sharding import SLOTS, key_slot

SCAN_CHUNK = 500
WRITE_PATHS = ("script", "multi")
# KEYS: order hash, slot's id index, status set, customer index, count and revenue counters.
# ARGV: order id, created (ms), status, total in cents, then the hash's field/value pairs.
WRITE_ONCE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 5))
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
redis.call('SADD', KEYS[3], ARGV[1])
redis.call('ZADD', KEYS[4], ARGV[2], ARGV[1])
redis.call('HINCRBY', KEYS[5], ARGV[3], 1)
redis.call('HINCRBY', KEYS[6], ARGV[3], ARGV[4])
return 1
"""
PIPELINE_CHUNK = 2048  # slot buckets read per pipeline round
TAG_SEARCH_STEP = 50_000


@cache
def slot_tags() -> tuple[str, ...]:
    """For every slot, the smallest decimal number whose CRC16 lands on it: the hash tag of that bucket."""
    tags: dict[int, str] = {}
    start = 0
    while len(tags) < SLOTS:  # about 170,000 numbers cover all 16384 slots
        for n in range(start, start + TAG_SEARCH_STEP):
            tags.setdefault(binascii.crc_hqx(b"%d" % n, 0) % SLOTS, str(n))
        start += TAG_SEARCH_STEP
    return tuple(tags[s] for s in range(SLOTS))


@dataclass(frozen=True)
class RedisClusterOptions(RedisOptions):
    write_path: str = "script"  # script (write-once Lua) | multi (MULTI/EXEC); see the module docstring
    reinitialize_steps: int = 0  # redis-py's: every this many MOVED replies, reconnect everything (0: never)


class RedisClusterStore(RedisStore):
    name = "redis"
    capabilities = frozenset({Capability.CLUSTER})

    Options = RedisClusterOptions
    options: RedisClusterOptions
    client: RedisCluster  # type: ignore[assignment]
    # Several orders are several slots: no one MULTI can hold them, and a versioned upsert is not built here.
    write_batch = Store.write_batch
    upsert = Store.upsert

    def bucket_key(self, slot: int, *parts: str) -> str:
        return ":".join((self.namespace, "{" + slot_tags()[slot] + "}", *parts))

    def order_key(self, order_id: str) -> str:
        return self.bucket_key(key_slot(order_id), "order", order_id)

    async def connect(self) -> ServerInfo:
        # redis-py follows MOVED and ASK redirections itself (that is the cluster protocol) and retries
        # after connection errors; the script write path makes that retry harmless (see above).
        # reinitialize_steps=0 (our default): a MOVED reply only re-points its slot. redis-py's default (5)
        # closes every connection of the client on each fifth MOVED, failing the commands other tasks have
        # in flight (measured while resharding: docs/sharding.md).
        self.client = RedisCluster.from_url(self.endpoint.url, decode_responses=True,
                                            reinitialize_steps=self.options.reinitialize_steps,
                                            max_connections=self.options.connections + 4)
        await self.client.initialize()
        self._write_once = self.client.register_script(WRITE_ONCE)
        info = await self.client.info("server", target_nodes=RedisCluster.RANDOM)
        masters = len(self.client.get_primaries())
        return ServerInfo("Redis Cluster", str(info["redis_version"]), f"{masters} masters, aof off")

    async def prepare(self, catalog: Catalog) -> None:
        await self._claim_prefix()

    def _keys(self, o: Order) -> list[str]:
        slot = key_slot(o.id)
        return [self.order_key(o.id), self.bucket_key(slot, "orders"), self.bucket_key(slot, "status", o.status.value),
                self.bucket_key(slot, "customer", o.customer_id), self.bucket_key(slot, "stats", "count"),
                self.bucket_key(slot, "stats", "revenue_cents")]

    async def write(self, order: Order) -> None:
        created_ms = epoch_ms(order.created_at)
        cents = int(order.total_amount * 100)
        order_key, ids, status, customer, count_key, revenue = self._keys(order)
        if self.options.write_path == "script":
            pairs = [x for kv in self._fields(order).items() for x in kv]
            await self._write_once(keys=[order_key, ids, status, customer, count_key, revenue],
                                   args=[order.id, created_ms, order.status.value, cents, *pairs])
            return
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.hset(order_key, mapping=self._fields(order))
            pipe.zadd(ids, {order.id: created_ms})
            pipe.sadd(status, order.id)
            pipe.zadd(customer, {order.id: created_ms})
            pipe.hincrby(count_key, order.status.value, 1)
            pipe.hincrby(revenue, order.status.value, cents)
            await pipe.execute()

    async def read(self, order_id: str) -> OrderRecord | None:
        h = await self.client.hgetall(self.order_key(order_id))
        return self._record(order_id, h) if h else None

    async def _perbucket_key(self, *parts: str, command: str = "hgetall") -> AsyncIterator[tuple[int, object]]:
        """One command per slot bucket, pipelined (redis-py splits a cluster pipeline by node)."""
        for start in range(0, SLOTS, PIPELINE_CHUNK):
            slots = range(start, min(SLOTS, start + PIPELINE_CHUNK))
            async with self.client.pipeline(transaction=False) as pipe:
                for slot in slots:
                    if command == "hgetall":
                        pipe.hgetall(self.bucket_key(slot, *parts))
                    else:
                        pipe.zrange(self.bucket_key(slot, *parts), 0, -1)
                replies = await pipe.execute()
            for slot, reply in zip(slots, replies, strict=True):
                yield slot, reply

    async def scan(self) -> AsyncIterator[OrderRecord]:
        # Walk each bucket's id index, then fetch the hashes; an index entry whose hash is gone is not an order.
        async for _slot, ids in self._perbucket_key("orders", command="zrange"):
            ids = list(ids)  # type: ignore[call-overload]
            for start in range(0, len(ids), SCAN_CHUNK):
                chunk = ids[start:start + SCAN_CHUNK]
                async with self.client.pipeline(transaction=False) as pipe:
                    for order_id in chunk:
                        pipe.hgetall(self.order_key(order_id))
                    hashes = await pipe.execute()
                for order_id, h in zip(chunk, hashes, strict=True):
                    if h:
                        yield self._record(order_id, h)

    async def aggregates(self) -> dict[str, StatusTotal]:
        counts: dict[str, int] = {}
        cents: dict[str, int] = {}
        for target, part in ((counts, "count"), (cents, "revenue_cents")):
            async for _slot, h in self._perbucket_key("stats", part):
                assert isinstance(h, dict)
                for status, n in h.items():
                    target[status] = target.get(status, 0) + int(n)
        return {status: StatusTotal(n, Decimal(cents.get(status, 0)) / 100) for status, n in counts.items()}

    async def teardown(self) -> None:
        if not self._created:
            return
        # Only keys under this run's prefix, on every master; never FLUSHDB / FLUSHALL. One UNLINK per
        # key: a multi-key UNLINK would span slots.
        async for key in self.client.scan_iter(match=f"{self.namespace}:*", count=1000):
            await self.client.unlink(key)
        self._created = False

    def describe(self) -> str:
        how = "a write-once script" if self.options.write_path == "script" else "MULTI/EXEC"
        return ("hash per order + per-slot id/status/customer indexes and counters (cents) under one hash tag per "
                f"slot bucket: {how} per order, on one node")
