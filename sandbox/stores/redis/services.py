"""What event-driven services keep in Redis (stores/events.py): an inventory service's stock, reserved and
released per order in Lua (atomic, idempotent by order id), and a read model (revenue per customer) whose effects
are counted per event id, applied once or every time it comes (to show what an idempotent consumer saves)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import redis.asyncio as aioredis

from sandbox.config import Endpoint
from sandbox.stores.markers import MARKER, Marker
from sandbox.stores.redis.keys import unlink_prefix
from sandbox.stores.redis.markers import RedisMarkers

# KEYS: stock hash, reservations hash, the order's lines hash; ARGV: order id, then product, quantity pairs.
# A second reserve of the same order answers what the first did and takes nothing.
RESERVE = """
local state = redis.call('HGET', KEYS[2], ARGV[1])
if state then return state end
for i = 2, #ARGV, 2 do
  if tonumber(redis.call('HGET', KEYS[1], ARGV[i]) or '0') < tonumber(ARGV[i + 1]) then
    redis.call('HSET', KEYS[2], ARGV[1], 'rejected')
    return 'rejected'
  end
end
for i = 2, #ARGV, 2 do
  redis.call('HINCRBY', KEYS[1], ARGV[i], -tonumber(ARGV[i + 1]))
  redis.call('HSET', KEYS[3], ARGV[i], ARGV[i + 1])
end
redis.call('HSET', KEYS[2], ARGV[1], 'reserved')
return 'reserved'
"""

RELEASE = """
if redis.call('HGET', KEYS[2], ARGV[1]) ~= 'reserved' then return 0 end
local lines = redis.call('HGETALL', KEYS[3])
for i = 1, #lines, 2 do redis.call('HINCRBY', KEYS[1], lines[i], tonumber(lines[i + 1])) end
redis.call('HSET', KEYS[2], ARGV[1], 'released')
return 1
"""

# KEYS: seen event ids, applications per event id, totals; ARGV: event id, key, cents, idempotent (1/0).
APPLY = """
if ARGV[4] == '1' and redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 then return 0 end
redis.call('SADD', KEYS[1], ARGV[1])
redis.call('HINCRBY', KEYS[2], ARGV[1], 1)
redis.call('HINCRBY', KEYS[3], ARGV[2], ARGV[3])
return 1
"""


class _Keys:
    """A service's keys under `<namespace>:<part>:`. The namespace is marked as the run's before the first key is
    written (`sandbox gc` finds and drops what a killed run left: the order service's store may be another
    server, whose marker this one cannot see); teardown drops the service's keys, and the marker once nothing
    else of the namespace is left (a model store of the same run on this server keeps it until its own)."""

    def __init__(self, endpoint: Endpoint, namespace: str, part: str):
        # Any: redis-py types its replies as bytes | str whatever decode_responses says
        self.client: Any = aioredis.Redis.from_url(endpoint.url, decode_responses=True, max_connections=32)
        self.namespace = namespace
        self.prefix = f"{namespace}:{part}"
        self.created = False

    def key(self, *parts: str) -> str:
        return ":".join((self.prefix, *parts))

    async def _created(self) -> None:
        if not self.created:
            await RedisMarkers().mark(self, Marker.new(self.namespace, self.namespace))
            self.created = True

    async def teardown(self) -> None:
        if self.created:
            await unlink_prefix(self.client, self.prefix)
            marker = f"{self.namespace}:{MARKER}"
            others = [k async for k in self.client.scan_iter(match=f"{self.namespace}:*", count=1000) if k != marker]
            if not others:
                await self.client.unlink(marker)

    async def close(self) -> None:
        await self.client.aclose()


class RedisInventory(_Keys):
    def __init__(self, endpoint: Endpoint, namespace: str):
        super().__init__(endpoint, namespace, "inventory")
        self._reserve = self.client.register_script(RESERVE)
        self._release = self.client.register_script(RELEASE)

    async def load(self, stock: Mapping[str, int]) -> None:
        await self._created()
        await self.client.hset(self.key("stock"), mapping=dict(stock))

    async def reserve(self, order_id: str, lines: Sequence[tuple[str, int]]) -> str:
        args = [order_id, *(v for product, qty in lines for v in (product, qty))]
        return str(await self._reserve(keys=[self.key("stock"), self.key("reservations"),
                                             self.key("lines", order_id)], args=args))

    async def release(self, order_id: str) -> bool:
        return bool(await self._release(keys=[self.key("stock"), self.key("reservations"),
                                              self.key("lines", order_id)], args=[order_id]))

    async def reservations(self) -> dict[str, str]:
        return await self.client.hgetall(self.key("reservations"))

    async def stock(self) -> dict[str, int]:
        return {k: int(v) for k, v in (await self.client.hgetall(self.key("stock"))).items()}


class RedisReadModel(_Keys):
    def __init__(self, endpoint: Endpoint, namespace: str):
        super().__init__(endpoint, namespace, "view")
        self._apply = self.client.register_script(APPLY)

    async def create(self) -> None:
        await self._created()

    async def apply(self, event_id: str, key: str, amount: Decimal, idempotent: bool) -> bool:
        cents = int(amount.scaleb(2).to_integral_value())
        return bool(await self._apply(keys=[self.key("seen"), self.key("applied"), self.key("totals")],
                                      args=[event_id, key, cents, 1 if idempotent else 0]))

    async def applications(self) -> dict[str, int]:
        return {k: int(v) for k, v in (await self.client.hgetall(self.key("applied"))).items()}

    async def totals(self) -> dict[str, Decimal]:
        return {k: Decimal(int(v)).scaleb(-2) for k, v in (await self.client.hgetall(self.key("totals"))).items()}
