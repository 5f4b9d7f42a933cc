"""Redis through valkey-glide's async client (Rust core, one multiplexed connection): the same keys,
MULTI/EXEC batches and counters as the redis-py adapter, so either client can answer the same run.

Upsert is one Lua script instead of WATCH/MULTI: WATCH belongs to a connection, and glide shares
one connection between all concurrent calls, so another task's commands could slip between a WATCH
and its EXEC. The script checks the version and moves the order between status sets and counters
atomically on the server.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from glide import (
    Batch,
    ConditionalChange,
    GlideClient,
    GlideClientConfiguration,
    InfoSection,
    NodeAddress,
    RangeByIndex,
    Script,
    ServerCredentials,
)

from sandbox.errors import UsageError
from sandbox.stores.base import Capability, ServerInfo, StatusTotal, Store
from sandbox.stores.redis.adapter import RedisOptions, RedisStore, epoch_ms
from sandbox.workload.model import Catalog, Order, OrderRecord

SCAN_CHUNK = 500

# KEYS: order hash, status set prefix, count hash, revenue hash; ARGV: version, id, new status,
# new cents, then the hash's field/value pairs. Returns 1 when written, 0 when a newer or equal
# version is stored already.
UPSERT = Script("""
local current = redis.call('HMGET', KEYS[1], 'version', 'status', 'total_amount')
if current[2] and tonumber(current[1] or '1') >= tonumber(ARGV[1]) then return 0 end
if current[2] then
  redis.call('SREM', KEYS[2] .. current[2], ARGV[2])
  redis.call('HINCRBY', KEYS[3], current[2], -1)
  local whole, frac = string.match(current[3], '^(-?%d+)%.?(%d*)$')
  frac = (frac .. '00'):sub(1, 2)
  redis.call('HINCRBY', KEYS[4], current[2], -(tonumber(whole) * 100 + tonumber(frac)))
end
redis.call('HSET', KEYS[1], unpack(ARGV, 5))
redis.call('HSET', KEYS[1], 'version', ARGV[1])
redis.call('SADD', KEYS[2] .. ARGV[3], ARGV[2])
redis.call('HINCRBY', KEYS[3], ARGV[3], 1)
redis.call('HINCRBY', KEYS[4], ARGV[3], ARGV[4])
return 1
""")


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class GlideRedisStore(Store):
    name = "redis"
    capabilities = frozenset({Capability.BATCH_WRITE, Capability.UPSERT})
    Options = RedisOptions

    options: RedisOptions
    client: GlideClient
    _created = False

    def _key(self, *parts: str) -> str:
        return ":".join((self.namespace, *parts))

    async def connect(self) -> ServerInfo:
        url = urlsplit(self.endpoint.url)
        if url.scheme != "redis":
            raise UsageError(f"the glide Redis client takes redis:// URLs here, got {url.scheme}://")
        credentials = ServerCredentials(url.password, url.username or None) if url.password else None
        db = int(url.path.lstrip("/") or 0)
        self.client = await GlideClient.create(GlideClientConfiguration(
            [NodeAddress(url.hostname or "127.0.0.1", url.port or 6379)], credentials=credentials,
            database_id=db, request_timeout=10_000))
        info = _text(await self.client.info([InfoSection.SERVER, InfoSection.PERSISTENCE]))
        fields = dict(line.split(":", 1) for line in info.splitlines() if ":" in line)
        aof = "aof on" if fields.get("aof_enabled", "0").strip() == "1" else "aof off"
        return ServerInfo("Redis", fields.get("redis_version", "?").strip(), f"{aof}, valkey-glide client")

    async def prepare(self, catalog: Catalog) -> None:
        cursor: Any = "0"
        while True:
            cursor, keys = await self.client.scan(cursor, match=f"{self.namespace}:*", count=1000)
            if keys:
                raise UsageError(f"Redis key prefix {self.namespace}: already has keys; choose another run id")
            if _text(cursor) == "0":
                break
        if await self.client.set(self._key("meta"), "created by polyglot sandbox",
                                 conditional_set=ConditionalChange.ONLY_IF_DOES_NOT_EXIST) is None:
            raise UsageError(f"Redis key prefix {self.namespace}: already in use; choose another run id")
        self._created = True

    @staticmethod
    def _fields(o: Order) -> dict[str, str]:
        """The redis-py adapter's hash fields, all as text (glide takes str values only)."""
        return {str(k): str(v) for k, v in RedisStore._fields(o).items()}

    def _queue(self, batch: Batch, o: Order) -> None:
        key = self._key("order", o.id)
        batch.hset(key, self._fields(o))
        created_ms = epoch_ms(o.created_at)
        batch.zadd(self._key("orders"), {o.id: created_ms})
        batch.sadd(self._key("status", o.status.value), [o.id])
        batch.zadd(self._key("customer", o.customer_id), {o.id: created_ms})
        batch.hincrby(self._key("stats", "count"), o.status.value, 1)
        batch.hincrby(self._key("stats", "revenue_cents"), o.status.value, int(o.total_amount * 100))
        if self.options.redis_ttl_s:
            batch.expire(key, self.options.redis_ttl_s)

    async def write(self, order: Order) -> None:
        await self.write_batch((order,))

    async def write_batch(self, orders: Sequence[Order]) -> None:
        batch = Batch(is_atomic=True)  # MULTI/EXEC, as the redis-py adapter sends
        for order in orders:
            self._queue(batch, order)
        await self.client.exec(batch, raise_on_error=True)

    async def upsert(self, order: Order, version: int) -> bool:
        fields = [part for pair in self._fields(order).items() for part in pair]
        written = await self.client.invoke_script(
            UPSERT, keys=[self._key("order", order.id), self._key("status", ""), self._key("stats", "count"),
                          self._key("stats", "revenue_cents")],
            args=[str(version), order.id, order.status.value, str(int(order.total_amount * 100)), *fields])
        if written:  # the id and customer indexes are sets keyed by id: re-adding is harmless
            created_ms = epoch_ms(order.created_at)
            batch = Batch(is_atomic=True)
            batch.zadd(self._key("orders"), {order.id: created_ms})
            batch.zadd(self._key("customer", order.customer_id), {order.id: created_ms})
            await self.client.exec(batch, raise_on_error=True)
        return bool(written)

    @staticmethod
    def _record(order_id: str, raw: dict[bytes, bytes]) -> OrderRecord:
        return RedisStore._record(order_id, {_text(k): _text(v) for k, v in raw.items()})

    async def read(self, order_id: str) -> OrderRecord | None:
        h = await self.client.hgetall(self._key("order", order_id))
        return self._record(order_id, h) if h else None

    async def scan(self) -> AsyncIterator[OrderRecord]:
        start = 0
        while ids := await self.client.zrange(self._key("orders"), RangeByIndex(start, start + SCAN_CHUNK - 1)):
            batch = Batch(is_atomic=False)
            for order_id in ids:
                batch.hgetall(self._key("order", _text(order_id)))
            hashes = await self.client.exec(batch, raise_on_error=True) or []
            for order_id, h in zip(ids, hashes, strict=True):
                if h:
                    yield self._record(_text(order_id), h)
            start += SCAN_CHUNK

    async def aggregates(self) -> dict[str, StatusTotal]:
        counts = await self.client.hgetall(self._key("stats", "count"))
        cents = {_text(k): int(v) for k, v in (await self.client.hgetall(self._key("stats", "revenue_cents"))).items()}
        return {_text(status): StatusTotal(int(n), Decimal(cents.get(_text(status), 0)) / 100)
                for status, n in counts.items()}

    async def teardown(self) -> None:
        if not self._created:
            return
        cursor: Any = "0"
        while True:  # only keys under this run's prefix; never FLUSHDB / FLUSHALL
            cursor, keys = await self.client.scan(cursor, match=f"{self.namespace}:*", count=1000)
            if keys:
                await self.client.unlink(keys)  # type: ignore[arg-type]
            if _text(cursor) == "0":
                break
        self._created = False

    async def close(self) -> None:
        if hasattr(self, "client"):
            await self.client.close()

    def describe(self) -> str:
        return ("hash per order + id/status/customer index sets + per-status counters (cents), MULTI/EXEC "
                "(valkey-glide)")
