"""Redis Cluster (redis-py's RedisCluster) holding a model: the Redis model store's design, one slot per instance.

Redis Cluster runs a script or a MULTI/EXEC only when every key in it hashes to the same slot, and the Redis
design updates an instance's hash, its index entries and counters together (lua.py). So the keyspace is cut
into slot buckets: an instance belongs to the slot its key hashes to (CRC16 of the key, as if it were a plain
key), and every key of that instance and of that slot's structures carries a hash tag chosen to hash to that
same slot: the design's key prefix `<ns>` becomes `<ns>:{<tag>}` for the instance,

    <ns>:{<tag>}:order:<id>                            hash, the instance (mapping.py's fields)
    <ns>:{<tag>}:orders:by:created_at                  sorted set, the bucket's keys (a scan walks every bucket)
    <ns>:{<tag>}:orders:status=<s>, ...:agg:<pattern>   the bucket's index entries and counters

One write then runs on one node, as atomic as on a single server, and the structures spread over all nodes
with the instances. Every key a write touches is declared to the script (KEYS), so a slot being migrated
answers ASK / TRYAGAIN before the script runs, never half way. The price: a question about all instances reads
every slot bucket; of the patterns only `get` is answered (the others: not answerable on this design).

The write is the design's script made write-once (`write_path="script"`, the default: nothing is done when the
hash exists) rather than the plain script inside MULTI/EXEC (`write_path="multi"`). redis-py re-sends a
cluster command after a connection error even when the first one ran, which it cannot know: while slots move,
that applied some writes' counter increments twice (measured: docs/sharding.md). A write that checks first is
safe to repeat, so the client's retries do no harm.
"""

from __future__ import annotations

import binascii
from collections.abc import AsyncIterator, Mapping, Sequence
from decimal import Decimal
from functools import cache
from typing import Any

from redis.asyncio.cluster import RedisCluster

from sandbox.config import Endpoint
from sandbox.stores.contract import Answerer, NotAnswerable, ServerInfo, exact
from sandbox.stores.redis import lua
from sandbox.stores.redis.mapping import NULL, SEP, Counter, encode, index_key
from sandbox.stores.redis.model_store import Lua, RedisModelStore
from sandbox.workload.dataset import Dataset, Instance
from sandbox.workload.params import AggregateRow
from sandbox.workload.schema import Model, Pattern
from sandbox.workload.sharding import SLOTS, key_slot

SCAN_CHUNK = 500
WRITE_PATHS = ("script", "multi")
PIPELINE_CHUNK = 2048  # slot buckets read per pipeline round
TAG_SEARCH_STEP = 50_000
ACROSS_BUCKETS = ("a question about all instances reads every slot bucket of the cluster: not served on this "
                  "design (only get is)")


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


class RedisClusterModelStore(RedisModelStore):
    """The `cluster` role: the Redis model store over a cluster client, keys hash-tagged per instance."""

    def __init__(self, endpoint: Endpoint, namespace: str, model: Model, options: Mapping[str, Any]):
        super().__init__(endpoint, namespace, model, options)
        self.write_path = str(options.get("write_path", "script"))
        if self.write_path not in WRITE_PATHS:
            raise ValueError(f"write_path {self.write_path!r}: choose from {', '.join(WRITE_PATHS)}")
        # redis-py's: every this many MOVED replies, reconnect everything (0, ours: a MOVED re-points its slot)
        self.reinitialize_steps = int(options.get("reinitialize_steps", 0))
        self.once = {name: Lua(lua.write_script(layout, once=True)) for name, layout in self.design.layouts.items()}

    # --- keys -------------------------------------------------------------------------------------------------
    def bucket(self, slot: int) -> str:
        """The key prefix of one slot bucket."""
        return f"{self.namespace}:{{{slot_tags()[slot]}}}"

    def prefix_of(self, key: Any) -> str:
        return self.bucket(key_slot(str(key)))

    def hash_key(self, entity: str, key: Any) -> str:
        return f"{self.prefix_of(key)}:{entity}:{key}"

    def every_key(self, entity: str, slot: int) -> str:
        layout = self.design.layouts[entity]
        return index_key(self.bucket(slot), layout, layout.every, ())

    def keys_of(self, entity: str, instance: Instance) -> list[str]:
        """Every key the write of `instance` touches: its hash, then its structures' (as lua.py builds them)."""
        layout = self.design.layouts[entity]
        prefix = self.prefix_of(instance[layout.key])
        out = [f"{prefix}:{entity}:{instance[layout.key]}"]
        for s in layout.structures:
            values = []
            for f in s.where:
                c = layout.column(f)
                values.append(encode(c.kind if c is not None else "text", instance.get(f)))
            if NULL not in values:
                out.append(index_key(prefix, layout, s, tuple(values)))
        return list(dict.fromkeys(out))

    # --- connection and namespace --------------------------------------------------------------------------------
    async def connect(self) -> ServerInfo:
        # redis-py follows MOVED and ASK redirections itself (that is the cluster protocol) and retries after
        # connection errors; the write-once script makes that retry harmless (see above).
        self.client = RedisCluster.from_url(self.endpoint.url, decode_responses=True,
                                            reinitialize_steps=self.reinitialize_steps,
                                            max_connections=self.connections + 4)
        await self.client.initialize()
        info = await self.client.info("server", target_nodes=RedisCluster.RANDOM)
        masters = len(self.client.get_primaries())
        return ServerInfo("Redis Cluster", str(info["redis_version"]), f"{masters} masters, aof off")

    async def _pipeline(self, entity: str, instances: Sequence[Instance], transaction: bool) -> None:
        for inst in instances:  # one instance per call: a cluster pipeline cannot hold several slots' scripts
            await self._write(entity, inst)

    async def _write(self, entity: str, instance: Instance) -> None:
        keys = self.keys_of(entity, instance)
        args = [self.prefix_of(instance[self.design.layouts[entity].key]), *self.codecs[entity].args(instance)]
        if self.write_path == "script":
            await self.once[entity](self.client, keys, args)
            return
        async with self.client.pipeline(transaction=True) as pipe:  # MULTI/EXEC on the slot's node
            pipe.eval(self.writes[entity].text, len(keys), *keys, *args)
            await pipe.execute()

    async def write(self, instance: Instance) -> None:
        await self._write(self._root, instance)

    async def write_batch(self, instances: Sequence[Instance]) -> None:
        for inst in instances:  # several instances are several slots: no one MULTI can hold them
            await self._write(self._root, inst)

    async def upsert(self, instance: Instance, version: int) -> bool:
        raise NotImplementedError("a versioned upsert is not built for the cluster design")

    async def read(self, entity: str, key: Any, include: Sequence[str] | None = None) -> dict[str, Any] | None:
        h = await self.client.hgetall(self.hash_key(entity, key))
        return self.codecs[entity].record(h, include) if h else None

    async def _per_bucket(self, key_of: Any, command: str) -> AsyncIterator[tuple[int, Any]]:
        """One command per slot bucket, pipelined (redis-py splits a cluster pipeline by node)."""
        for start in range(0, SLOTS, PIPELINE_CHUNK):
            slots = range(start, min(SLOTS, start + PIPELINE_CHUNK))
            async with self.client.pipeline(transaction=False) as pipe:
                for slot in slots:
                    if command == "hgetall":
                        pipe.hgetall(key_of(slot))
                    else:
                        pipe.zrange(key_of(slot), 0, -1)
                replies = await pipe.execute()
            for slot, reply in zip(slots, replies, strict=True):
                yield slot, reply

    async def scan(self, entity: str) -> AsyncIterator[dict[str, Any]]:
        # Walk each bucket's key index, then fetch the hashes; an entry whose hash is gone is not an instance.
        codec = self.codecs[entity]
        async for _slot, keys in self._per_bucket(lambda slot: self.every_key(entity, slot), "zrange"):
            keys = list(keys)
            for start in range(0, len(keys), SCAN_CHUNK):
                chunk = keys[start:start + SCAN_CHUNK]
                async with self.client.pipeline(transaction=False) as pipe:
                    for key in chunk:
                        pipe.hgetall(self.hash_key(entity, key))
                    hashes = await pipe.execute()
                for h in hashes:
                    if h:
                        yield codec.record(h)

    async def totals(self, pattern: str) -> list[AggregateRow]:
        """An aggregate pattern's counters (one without a window or where values) added up over every bucket."""
        layout = self.design.layouts[self._root]
        counter = next(s for s in layout.structures if isinstance(s, Counter) and s.pattern == pattern)
        figures: dict[str, dict[str, int]] = {}
        async for _slot, raw in self._per_bucket(
                lambda slot: index_key(self.bucket(slot), layout, counter, ()), "hgetall"):
            for name, value in raw.items():
                figure, _, group = name.partition("|")
                into = figures.setdefault(group, {})
                into[figure] = into.get(figure, 0) + int(value)
        rows = []
        for group, fig in figures.items():
            n = fig.get("n", 0)
            if n <= 0:
                continue
            sums = []
            for f in counter.sums:
                c = layout.column(f)
                assert c is not None
                total = fig.get(f"s.{f}", 0)
                sums.append(exact(Decimal(total).scaleb(-c.scale), c.scale) if c.kind == "decimal" else total)
            values = tuple(None if v == NULL else v for v in group.split(SEP)) if group else ()
            rows.append(AggregateRow(values, n, tuple(sums)))
        return rows

    def answer(self, pattern: Pattern) -> Answerer | NotAnswerable:
        return super().answer(pattern) if pattern.kind == "get" else NotAnswerable(ACROSS_BUCKETS)

    async def prepare(self, data: Dataset) -> None:
        await super().prepare(data)  # the prefix claim, then the reference data: one write per instance

    async def teardown(self) -> None:
        if self._prepared:
            # Only keys under this run's prefix, on every master; never FLUSHDB / FLUSHALL. One UNLINK per key: a
            # multi-key UNLINK would span slots.
            async for key in self.client.scan_iter(match=f"{self.namespace}:*", count=1000):
                await self.client.unlink(key)
            self._prepared = False

    def describe(self) -> str:
        how = "a write-once script" if self.write_path == "script" else "the design's script in MULTI/EXEC"
        return ("the Redis design (hash per instance + index sets, sorted sets and counters) under one hash tag "
                f"per slot bucket: {how} per instance, on one node")


def make(endpoint: Endpoint, namespace: str, model: Model, options: Mapping[str, Any]) -> RedisClusterModelStore:
    return RedisClusterModelStore(endpoint, namespace, model, options)
