"""Redis (redis.asyncio): an order hash, secondary index sets, and exact per-status counters in cents."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import NoPermissionError, WatchError

from sandbox.errors import UsageError
from sandbox.stores.base import Capability, ServerInfo, StatusTotal, Store, StoreOptions
from sandbox.stores.redis import stats
from sandbox.stores.redis.analytics import RedisAnalytics
from sandbox.stores.redis.scripts import TAKE_STOCK, UPDATE_STATUS, WRITE_ORDER
from sandbox.stores.server_stats import ServerStats
from sandbox.workload.model import Catalog, Order, OrderRecord

SCAN_CHUNK = 500

REDIS_CLIENTS = ("redis-py", "valkey-glide")


class ReplicaWaitTimeout(Exception):
    """WAIT returned before enough replicas acknowledged the write."""


def epoch_ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


@dataclass(frozen=True)
class RedisOptions(StoreOptions):
    redis_ttl_s: int | None = None  # cache-style expiry of order hashes; off for comparisons
    redis_client: str = "redis-py"  # or valkey-glide (sandbox/stores/redis/glide.py): same keys and contract
    redis_wait_replicas: int = 0  # after each write, WAIT until this many replicas have it (0: do not wait)
    redis_wait_ms: int = 1000  # WAIT's timeout; fewer replicas by then fails the write


class RedisStore(RedisAnalytics, Store):
    name = "redis"
    capabilities = frozenset({Capability.BATCH_WRITE, Capability.UPSERT, Capability.STATUS_UPDATE, Capability.STOCK,
                              Capability.CUSTOMER_LATEST, Capability.TIME_RANGE, Capability.REPLICAS,
                              Capability.ANALYTICS})
    concurrency_control = "Lua scripts (atomic check-and-set of version; check-then-take of stock)"
    Options = RedisOptions
    options: RedisOptions

    client: aioredis.Redis  # decode_responses=True: str in, str out
    _created = False

    def _key(self, *parts: str) -> str:
        return ":".join((self.namespace, *parts))

    async def connect(self) -> ServerInfo:
        # No client-side retries: a silently retried MULTI/EXEC could apply twice, and retries would
        # hide failures and stretch latencies the harness is meant to report.
        self.client = aioredis.from_url(self.endpoint.url, decode_responses=True,
                                        max_connections=self.options.connections + 4,
                                        retry=Retry(NoBackoff(), 0))
        if self.options.redis_wait_replicas:
            # WAIT counts the writes made on the connection it is sent on, so each writer holds a
            # client with exactly one connection for its write and its WAIT. More clients than callers,
            # so a caller never queues behind another that just put its client back.
            self._writers: asyncio.Queue[aioredis.Redis] = asyncio.Queue()
            for _ in range(self.options.connections + 4):
                self._writers.put_nowait(aioredis.from_url(self.endpoint.url, decode_responses=True,
                                                           max_connections=1, retry=Retry(NoBackoff(), 0)))
        self._update_status = self.client.register_script(UPDATE_STATUS)
        self._take_stock = self.client.register_script(TAKE_STOCK)
        info = await self.client.info("server")
        persistence = await self.client.info("persistence")
        aof = "aof on" if persistence.get("aof_enabled") else "aof off"
        self._write_order = self.client.register_script(WRITE_ORDER)  # EVALSHA, loaded again if evicted
        return ServerInfo("Redis", str(info["redis_version"]), aof)

    async def server_settings(self) -> dict[str, str]:
        got: dict[str, str] = {}
        try:
            for name in ("appendonly", "appendfsync", "save"):
                got.update({str(k): str(v) for k, v in (await self.client.config_get(name)).items()})
        except NoPermissionError:  # a login without CONFIG GET (the native stack's run user): what INFO says
            aof = str((await self.client.info("persistence")).get("aof_enabled")) == "1"
            return {"appendonly": "yes" if aof else "no",
                    "appendfsync": "not readable by this login (CONFIG GET is @admin)"}
        return {k: repr(v) if k == "save" else v for k, v in got.items()}  # save "" reads as ''

    async def server_stats(self) -> ServerStats:
        return await stats.snapshot(self.client)

    async def _claim_prefix(self) -> None:
        """Take this run's key prefix: any key under it means it is someone's; the NX marker settles a race
        with another run."""
        async for _ in self.client.scan_iter(match=f"{self.namespace}:*", count=1000):
            raise UsageError(f"Redis key prefix {self.namespace}: already has keys; choose another run id")
        if not await self.client.set(self._key("meta"), "created by polyglot sandbox", nx=True):
            raise UsageError(f"Redis key prefix {self.namespace}: already in use; choose another run id")
        self._created = True

    async def prepare(self, catalog: Catalog) -> None:
        await self._claim_prefix()
        async with self.client.pipeline(transaction=False) as pipe:
            for p in catalog.products:
                pipe.set(self._key("stock", p.id), p.inventory_count)
            await pipe.execute()

    @staticmethod
    def _fields(o: Order) -> dict[Any, str | int]:  # Any: redis-py types hash field names loosely
        return {
            "order_number": o.order_number, "customer_id": o.customer_id, "segment": o.customer_segment.value,
            "status": o.status.value, "subtotal": str(o.subtotal), "tax_amount": str(o.tax_amount),
            "shipping_amount": str(o.shipping_amount), "total_amount": str(o.total_amount),
            "item_count": len(o.items), "created_at": o.created_at.isoformat(timespec="milliseconds"),
            "items": json.dumps([[i.product_id, i.product_sku, i.quantity, str(i.unit_price)] for i in o.items]),
        }

    def script_call(self, o: Order) -> tuple[list[str], list[Any]]:
        """WRITE_ORDER's keys and arguments for one order (bench: the same EVALSHA for redis-cli --pipe)."""
        keys = [self._key("order", o.id), self._key("orders"), self._key("status", o.status.value),
                self._key("customer", o.customer_id), self._key("stats", "count"),
                self._key("stats", "revenue_cents")]
        args: list[Any] = [epoch_ms(o.created_at), o.id, o.status.value, int(o.total_amount * 100),
                           self.options.redis_ttl_s or 0]
        for field, value in self._fields(o).items():
            args += (field, value)
        return keys, args

    def _queue(self, pipe: aioredis.client.Pipeline, o: Order) -> None:
        key = self._key("order", o.id)
        pipe.hset(key, mapping=self._fields(o))
        created_ms = epoch_ms(o.created_at)
        pipe.zadd(self._key("orders"), {o.id: created_ms})
        pipe.sadd(self._key("status", o.status.value), o.id)
        pipe.zadd(self._key("customer", o.customer_id), {o.id: created_ms})
        pipe.hincrby(self._key("stats", "count"), o.status.value, 1)
        # Integer cents, not INCRBYFLOAT: a float counter would drift.
        pipe.hincrby(self._key("stats", "revenue_cents"), o.status.value, int(o.total_amount * 100))
        if self.options.redis_ttl_s:
            pipe.expire(key, self.options.redis_ttl_s)

    async def write(self, order: Order) -> None:
        if self.options.redis_wait_replicas:
            await self._write_and_wait(order)
            return
        keys, args = self.script_call(order)
        await self._write_order(keys, args)  # one script: atomic on its own

    async def _write_and_wait(self, order: Order) -> None:
        client = await self._writers.get()
        try:
            keys, args = self.script_call(order)
            await self._write_order(keys, args, client=client)
            acked = int(await client.execute_command("WAIT", self.options.redis_wait_replicas,
                                                     self.options.redis_wait_ms))
        finally:
            self._writers.put_nowait(client)
        if acked < self.options.redis_wait_replicas:
            raise ReplicaWaitTimeout(f"WAIT: {acked} of {self.options.redis_wait_replicas} replicas had the write "
                                     f"after {self.options.redis_wait_ms} ms (it is on the primary)")

    async def write_batch(self, orders: Sequence[Order]) -> None:
        async with self.client.pipeline(transaction=True) as pipe:  # MULTI/EXEC: the batch is all or nothing
            for order in orders:
                keys, args = self.script_call(order)
                await self._write_order(keys, args, client=pipe)
            await pipe.execute()

    async def upsert(self, order: Order, version: int) -> bool:
        # Optimistic transaction: WATCH the hash, check its version, and move the order between status
        # sets and counters in one MULTI/EXEC; a concurrent change aborts the EXEC and we look again.
        key = self._key("order", order.id)
        async with self.client.pipeline(transaction=True) as pipe:
            while True:
                try:
                    await pipe.watch(key)
                    current, status, total = await pipe.hmget(key, "version", "status", "total_amount")
                    if status is not None and int(current or 1) >= version:
                        await pipe.reset()
                        return False
                    pipe.multi()
                    if status is not None:  # an older version: take it out of its status set and counters
                        old = str(status)
                        pipe.srem(self._key("status", old), order.id)
                        pipe.hincrby(self._key("stats", "count"), old, -1)
                        pipe.hincrby(self._key("stats", "revenue_cents"), old, -int(Decimal(str(total)) * 100))
                    self._queue(pipe, order)
                    pipe.hset(key, "version", version)
                    await pipe.execute()
                    return True
                except WatchError:
                    continue

    async def update_status(self, order_id: str, status: str, version: int) -> bool:
        keys = [self._key("order", order_id), self._key("stats", "count"), self._key("stats", "revenue_cents")]
        return bool(await self._update_status(keys=keys, args=[status, version, self._key("status", ""), order_id]))

    async def take_stock(self, items: Sequence[tuple[str, int]]) -> bool:
        return bool(await self._take_stock(keys=[self._key("stock", p) for p, _ in items],
                                           args=[q for _, q in items]))

    async def latest_orders(self, customer_id: str, n: int) -> list[str]:
        return [str(i) for i in await self.client.zrevrange(self._key("customer", customer_id), 0, n - 1)]

    async def orders_between(self, start: datetime, end: datetime, limit: int) -> list[str]:
        found = await self.client.zrangebyscore(self._key("orders"), epoch_ms(start), f"({epoch_ms(end)}",
                                                start=0, num=limit)
        return [str(i) for i in found]

    async def order_states(self, order_ids: Sequence[str]) -> dict[str, tuple[str, int]]:
        async with self.client.pipeline(transaction=False) as pipe:
            for order_id in order_ids:
                pipe.hmget(self._key("order", order_id), "status", "version")
            rows = await pipe.execute()
        return {i: (str(s), int(v or 1)) for i, (s, v) in zip(order_ids, rows, strict=True) if s is not None}

    async def stock_levels(self, product_ids: Sequence[str]) -> dict[str, int]:
        values = await self.client.mget([self._key("stock", p) for p in product_ids])
        return {p: int(v) for p, v in zip(product_ids, values, strict=True) if v is not None}

    @staticmethod
    def _record(order_id: Any, h: Any) -> OrderRecord:
        return OrderRecord(order_id, h.get("status"), Decimal(h["total_amount"]) if "total_amount" in h else None,
                           int(h["item_count"]) if "item_count" in h else None, h.get("customer_id"),
                           h.get("segment"), h.get("order_number"))

    async def read(self, order_id: str) -> OrderRecord | None:
        h = await self.client.hgetall(self._key("order", order_id))
        return self._record(order_id, h) if h else None

    async def scan(self) -> AsyncIterator[OrderRecord]:
        # Walk the id index, then fetch the hashes; an index entry whose hash is gone is not an order.
        start = 0
        while ids := await self.client.zrange(self._key("orders"), start, start + SCAN_CHUNK - 1):
            async with self.client.pipeline(transaction=False) as pipe:
                for order_id in ids:
                    pipe.hgetall(self._key("order", str(order_id)))
                hashes = await pipe.execute()
            for order_id, h in zip(ids, hashes, strict=True):
                if h:
                    yield self._record(order_id, h)
            start += SCAN_CHUNK

    async def aggregates(self) -> dict[str, StatusTotal]:
        counts = await self.client.hgetall(self._key("stats", "count"))
        cents = await self.client.hgetall(self._key("stats", "revenue_cents"))
        return {str(status): StatusTotal(int(n), Decimal(int(cents.get(status, 0))) / 100)
                for status, n in counts.items()}

    async def teardown(self) -> None:
        if not self._created:
            return
        await unlink_prefix(self.client, self.namespace)
        self._created = False

    async def close(self) -> None:
        while hasattr(self, "_writers") and not self._writers.empty():
            await self._writers.get_nowait().aclose()
        if hasattr(self, "client"):
            await self.client.aclose()

    def describe(self) -> str:
        return ("hash per order + id/status/customer index sets + per-status counters (cents), one Lua script per "
                "order, batches in MULTI/EXEC")


async def unlink_prefix(client: aioredis.Redis, prefix: str) -> None:
    """Delete the keys under `prefix:` and only those; never FLUSHDB / FLUSHALL."""
    batch: list[str] = []
    async for key in client.scan_iter(match=f"{prefix}:*", count=1000):
        batch.append(key)
        if len(batch) >= 1000:
            await client.unlink(*batch)
            batch.clear()
    if batch:
        await client.unlink(*batch)
