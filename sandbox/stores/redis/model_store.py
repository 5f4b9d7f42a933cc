"""Redis as a model store (stores/contract.py): mapping.py's design, lua.py's scripts, patterns.py's answerers.

One round trip per write: one EVALSHA per root instance (the hash, its index entries and counters, atomic);
a batch is those scripts in one MULTI/EXEC. The first script of a batch goes as EVAL: Redis 7.0 runs the rest
of a MULTI when one EVALSHA in it finds no script (a restarted server has none), so the batch carries its
script once and can never be half applied for want of it. A single write that meets NOSCRIPT (nothing ran)
sends the script with EVAL instead.

The run's key prefix `{ns}:` is claimed at prepare (no key under it, an NX marker) and unlinked at teardown,
key by key under the prefix only (never FLUSHDB).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import NoPermissionError, NoScriptError

from sandbox.config import Endpoint
from sandbox.errors import UsageError
from sandbox.stores.contract import Answerer, FootprintReading, Kept, NamespaceExists, NotAnswerable, ServerInfo
from sandbox.stores.redis import footprint, lua, mapping, stats
from sandbox.stores.redis.analytics import RedisAnalytics
from sandbox.stores.redis.codec import Codec
from sandbox.stores.redis.isolation import RedisTransactions
from sandbox.stores.redis.keys import claim_prefix, unlink_prefix
from sandbox.stores.server_stats import ServerStats
from sandbox.workload.dataset import Dataset, Instance
from sandbox.workload.schema import Model, Pattern

SCAN_CHUNK = 500
LOAD_CHUNK = 500
CLIENTS = ("redis-py", "valkey-glide")  # glide.py: the same keys, scripts and batches through valkey-glide


class ReplicaWaitTimeout(Exception):
    """WAIT returned before enough replicas acknowledged the write (it is on the primary)."""


class Lua:
    """A script by its text and SHA-1: EVALSHA, or EVAL when the server does not have it."""

    def __init__(self, text: str):
        self.text = text
        self.sha = hashlib.sha1(text.encode()).hexdigest()

    async def __call__(self, client: Any, keys: Sequence[str], args: Sequence[Any]) -> Any:
        try:
            return await client.evalsha(self.sha, len(keys), *keys, *args)
        except NoScriptError:
            return await client.eval(self.text, len(keys), *keys, *args)

    def queue(self, pipe: Any, keys: Sequence[str], args: Sequence[Any], first: bool) -> None:
        if first:
            pipe.eval(self.text, len(keys), *keys, *args)
        else:
            pipe.evalsha(self.sha, len(keys), *keys, *args)


class RedisModelStore(RedisAnalytics):
    money = "exact decimal"

    def __init__(self, endpoint: Endpoint, namespace: str, model: Model, options: Mapping[str, Any]):
        self.client_library = str(options.get("redis_client", "redis-py"))  # -o redis.client=valkey-glide
        if self.client_library not in CLIENTS:
            raise UsageError(f"redis.client={self.client_library}: choose from {', '.join(CLIENTS)}")
        self.name = "redis"
        self.endpoint, self.namespace = endpoint, namespace
        self.model = model
        self.design = mapping.derive(model, options)
        self.connections = int(options.get("connections", 8))
        self.client: Any = None
        # After each write, WAIT until this many replicas have it (0: do not wait), at most wait_ms.
        self.wait_replicas = int(options.get("redis_wait_replicas", 0))
        self.wait_ms = int(options.get("redis_wait_ms", 1000))
        self._writers: asyncio.Queue[Any] = asyncio.Queue()
        self.codecs = {name: Codec(layout) for name, layout in self.design.layouts.items()}
        self.writes = {name: Lua(lua.write_script(layout)) for name, layout in self.design.layouts.items()}
        self._root = model.root
        self._prepared = False
        self._scripts: dict[tuple[str, ...], Lua] = {}  # per pattern, made when a pattern is first answered

    async def _single(self) -> Any:
        """A client of one connection (WAIT counts the writes of the connection it is sent on)."""
        if self.client_library == "valkey-glide":
            from sandbox.stores.redis.glide import connect_glide
            return await connect_glide(self.endpoint.url)
        return aioredis.from_url(self.endpoint.url, decode_responses=True, max_connections=1,
                                 retry=Retry(NoBackoff(), 0))

    async def connect(self) -> ServerInfo:
        if self.client_library == "valkey-glide":
            from sandbox.stores.redis.glide import connect_glide  # imported only when chosen

            self.client = await connect_glide(self.endpoint.url)  # one multiplexed connection, no retries
            for _ in range(self.connections + 4 if self.wait_replicas else 0):
                self._writers.put_nowait(await self._single())
            info, persistence = await self.client.info("server"), await self.client.info("persistence")
            aof = "aof on" if persistence.get("aof_enabled") else "aof off"
            return ServerInfo("Redis", str(info["redis_version"]), f"{aof}, valkey-glide client")
        # No client-side retries (a silently retried MULTI/EXEC could apply twice, and retries would hide
        # failures and stretch the latencies reported), and a blocking pool: a caller beyond the pool's
        # connections waits for one instead of failing. markers.py and tests/raw.py reach the server through it.
        pool = aioredis.BlockingConnectionPool.from_url(
            self.endpoint.url, decode_responses=True, max_connections=self.connections + 4, timeout=None,
            retry=Retry(NoBackoff(), 0))
        self.client = client = aioredis.Redis(connection_pool=pool)
        if self.wait_replicas:
            # WAIT counts the writes made on the connection it is sent on, so each writer holds a client with
            # exactly one connection for its write and its WAIT; more clients than callers, so none queues.
            for _ in range(self.connections + 4):
                self._writers.put_nowait(await self._single())
        info, persistence = await client.info("server"), await client.info("persistence")
        aof = "aof on" if persistence.get("aof_enabled") else "aof off"
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

    async def footprint(self) -> FootprintReading:
        """MEMORY USAGE of the run's keys by kind (footprint.py): contract.Footprint. With valkey-glide a
        redis-py connection of its own asks (the sampling pipeline is redis-py's)."""
        if self.client_library == "redis-py":
            return await footprint.footprint(self.client, self.namespace, self.design.layouts)
        client = aioredis.Redis.from_url(self.endpoint.url, decode_responses=True)
        try:
            return await footprint.footprint(client, self.namespace, self.design.layouts)
        finally:
            await client.aclose()

    def hash_key(self, entity: str, key: Any) -> str:
        return mapping.hash_key(self.namespace, entity, key)

    async def prepare(self, data: Dataset) -> None:
        try:
            await claim_prefix(self.client, self.namespace)
        except UsageError as exc:
            raise NamespaceExists(str(exc)) from None
        self._prepared = True
        for entity, instances in data.reference.items():
            if entity in self.design.layouts:
                for i in range(0, len(instances), LOAD_CHUNK):
                    await self._pipeline(entity, instances[i:i + LOAD_CHUNK], transaction=False)

    async def _pipeline(self, entity: str, instances: Sequence[Instance], transaction: bool) -> None:
        codec, script, key = self.codecs[entity], self.writes[entity], self.design.layouts[entity].key
        async with self.client.pipeline(transaction=transaction) as pipe:
            for i, inst in enumerate(instances):
                script.queue(pipe, [self.hash_key(entity, inst[key])], [self.namespace, *codec.args(inst)], i == 0)
            await pipe.execute()

    async def write(self, instance: Instance) -> None:
        entity = self._root
        key = instance[self.design.layouts[entity].key]
        args = [self.namespace, *self.codecs[entity].args(instance)]
        if not self.wait_replicas:
            await self.writes[entity](self.client, [self.hash_key(entity, key)], args)
            return
        client = await self._writers.get()
        try:
            await self.writes[entity](client, [self.hash_key(entity, key)], args)
            acked = int(await client.execute_command("WAIT", self.wait_replicas, self.wait_ms))
        finally:
            self._writers.put_nowait(client)
        if acked < self.wait_replicas:
            raise ReplicaWaitTimeout(f"WAIT: {acked} of {self.wait_replicas} replicas had the write after "
                                     f"{self.wait_ms} ms (it is on the primary)")

    async def write_batch(self, instances: Sequence[Instance]) -> None:
        if instances:
            await self._pipeline(self._root, instances, transaction=True)  # MULTI/EXEC: all or nothing

    async def upsert(self, instance: Instance, version: int) -> bool:
        entity = self._root
        layout = self.design.layouts[entity]
        script = self.script(("upsert", entity), lambda: lua.upsert_script(layout))
        return bool(await script(self.client, [self.hash_key(entity, instance[layout.key])],
                                 [self.namespace, version, *self.codecs[entity].args(instance)]))

    def script(self, name: tuple[str, ...], text: Callable[[], str]) -> Lua:
        if name not in self._scripts:
            self._scripts[name] = Lua(text())
        return self._scripts[name]

    async def read(self, entity: str, key: Any, include: Sequence[str] | None = None) -> dict[str, Any] | None:
        if entity not in self.codecs:
            raise UsageError(f"{entity} is not stored on its own in Redis: it lives inside its owner's hash")
        h = await self.client.hgetall(self.hash_key(entity, key))
        return self.codecs[entity].record(h, include) if h else None

    async def scan(self, entity: str) -> AsyncIterator[dict[str, Any]]:
        layout = self.design.layouts[entity]
        every = mapping.index_key(self.namespace, layout, layout.every, ())
        codec, start = self.codecs[entity], 0
        while keys := await self.client.zrange(every, start, start + SCAN_CHUNK - 1):
            async with self.client.pipeline(transaction=False) as pipe:
                for key in keys:
                    pipe.hgetall(self.hash_key(entity, key))
                hashes = await pipe.execute()
            for h in hashes:
                if h:  # an index entry whose hash is gone is not an instance
                    yield codec.record(h)
            start += SCAN_CHUNK

    def kept(self, entity: str) -> Kept:
        return mapping.kept(self.design, entity)

    def answer(self, pattern: Pattern) -> Answerer | NotAnswerable:
        from sandbox.stores.redis.patterns import answerer

        plan = self.design.plans.get(pattern.name)
        if plan is None:
            return NotAnswerable(f"{pattern.name} is not a pattern of the model {self.model.name}")
        return NotAnswerable(plan) if isinstance(plan, str) else answerer(self, plan)

    def describe(self) -> str:
        return mapping.describe(self.design, self.namespace)

    def transactions(self) -> RedisTransactions | NotAnswerable:
        """contract.TransactionalWorkload: MULTI/EXEC with WATCH, and Lua, on this client's pool."""
        if self.client_library != "redis-py":
            return NotAnswerable("the isolation workload's WATCH runs on redis-py's pipeline "
                                 "(-o redis.client=redis-py)")
        return RedisTransactions(self.client, self.namespace)

    async def teardown(self) -> None:
        if self._prepared:
            await unlink_prefix(self.client, self.namespace)  # the keys under `{ns}:` only; never FLUSHDB
            self._prepared = False

    async def close(self) -> None:
        while not self._writers.empty():
            await self._writers.get_nowait().aclose()
        if self.client is not None:
            await self.client.aclose()


def make(endpoint: Endpoint, namespace: str, model: Model, options: Mapping[str, Any]) -> RedisModelStore:
    return RedisModelStore(endpoint, namespace, model, options)
