"""Direct access to each store with its own client, bypassing the model stores.

Tests use it to plant data the sandbox did not create, and to corrupt or delete what it wrote,
so that what the model stores and the comparison report can be checked against the real server.
One helper class per store in HELPERS; a store without one is an error, never another store's branch.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import aiohttp
import asyncpg
import redis.asyncio as aioredis
from bson.decimal128 import Decimal128
from elasticsearch import AsyncElasticsearch
from pymongo import AsyncMongoClient

from sandbox.config import Endpoint, Settings, endpoint
from sandbox.stores.elastic.client import PlainJsonNode
from sandbox.stores.elastic.mapping import wire
from sandbox.stores.elastic.tls import client_tls
from sandbox.stores.influx import mapping as influx_mapping
from sandbox.stores.postgres.jsonb_mapping import iso
from sandbox.stores.redis import mapping as redis_mapping
from sandbox.stores.redis.codec import Codec
from sandbox.stores.tls import https_context


class RawStore:
    """One store's native client with the few operations the tests need."""

    def __init__(self, ep: Endpoint):
        self.ep = ep

    async def open(self) -> None: ...
    async def close(self) -> None: ...
    async def plant_foreign(self, name: str) -> None: ...
    async def foreign_intact(self, name: str) -> bool: ...
    async def drop_foreign(self, name: str) -> None:
        """Drop a whole namespace (planted, or left by --keep)."""
    async def namespace_exists(self, name: str) -> bool: ...
    async def corrupt(self, store: Any, entity: str, key: Any, field: str, value: Any) -> None:
        """Change one stored field of one instance of a model store (stores/contract.py), behind its back."""
    async def remove(self, store: Any, entity: str, key: Any) -> None:
        """Delete one instance of a model store behind its back."""


class PostgresRaw(RawStore):
    async def open(self) -> None:
        self.pg = await asyncpg.connect(self.ep.url)

    async def close(self) -> None:
        await self.pg.close()

    async def plant_foreign(self, name: str) -> None:
        await self.pg.execute(f'CREATE SCHEMA "{name}"; CREATE TABLE "{name}".keepme (id int); '
                              f'INSERT INTO "{name}".keepme VALUES (1)')

    async def foreign_intact(self, name: str) -> bool:
        return await self.pg.fetchval(f'SELECT count(*) FROM "{name}".keepme') == 1

    async def drop_foreign(self, name: str) -> None:
        await self.pg.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')

    async def namespace_exists(self, name: str) -> bool:
        return bool(await self.pg.fetchval("SELECT count(*) FROM pg_namespace WHERE nspname = $1", name))

    async def corrupt(self, store: Any, entity: str, key: Any, field: str, value: Any) -> None:
        """Set one stored field of one instance of a model store (either design) with a plain UPDATE."""
        lay = store.layout
        where = f"{lay.key_of(entity).q} = $2"
        if store.design == "jsonb":
            doc = json.dumps({field: value}, default=lambda v: str(v) if isinstance(v, Decimal) else iso(v))
            sql = f"UPDATE {lay.table_name(entity)} SET doc = doc || $1::jsonb WHERE {where}"
            await self.pg.execute(sql, doc, key)
        else:
            column = store.tables.table(entity).column(field)
            await self.pg.execute(f"UPDATE {lay.table_name(entity)} SET {column.q} = {column.param(1)} WHERE {where}",
                                  value, key)

    async def remove(self, store: Any, entity: str, key: Any) -> None:
        """Delete one instance of a model store (its children go with it: ON DELETE CASCADE, or the document)."""
        lay = store.layout
        await self.pg.execute(f"DELETE FROM {lay.table_name(entity)} WHERE {lay.key_of(entity).q} = $1", key)


class MongoRaw(RawStore):
    async def open(self) -> None:
        self.mongo: AsyncMongoClient = AsyncMongoClient(self.ep.url)

    async def close(self) -> None:
        await self.mongo.close()

    async def plant_foreign(self, name: str) -> None:
        await self.mongo[name]["keepme"].insert_one({"_id": 1})

    async def foreign_intact(self, name: str) -> bool:
        return await self.mongo[name]["keepme"].count_documents({}) == 1

    async def drop_foreign(self, name: str) -> None:
        await self.mongo.drop_database(name)

    async def namespace_exists(self, name: str) -> bool:
        return name in await self.mongo.list_database_names()

    async def corrupt(self, store: Any, entity: str, key: Any, field: str, value: Any) -> None:
        # One $set on the stored document, validation bypassed (a corrupt value may be one the validator refuses);
        # an owned collection as the store's codec writes it: embedded, or its own collection's documents.
        design, codec = store.design, store.codecs[entity]
        db = self.mongo[store.namespace]
        coll = db[design.collection(entity).name]
        owned = {member: (parent, child, collection) for member, parent, child, collection in codec.children}
        if field not in owned:
            v = Decimal128(value) if isinstance(value, Decimal) else value
            await coll.update_one({"_id": key}, {"$set": {design.path(entity, field): v}},
                                  bypass_document_validation=True)
            return
        parent, child, collection = owned[field]
        if collection is None:
            await coll.update_one({"_id": key}, {"$set": {field: [child.encode_child(c, parent) for c in value]}},
                                  bypass_document_validation=True)
            return
        docs = dict(codec.children_of({m: value if m == field else [] for m in owned}))[collection]
        await db[collection].delete_many({parent: key})
        if docs:
            await db[collection].insert_many([{**d, parent: key} for d in docs], bypass_document_validation=True)

    async def remove(self, store: Any, entity: str, key: Any) -> None:
        # the document; referenced children stay where they are (what a careless delete would leave)
        await self.mongo[store.namespace][store.design.collection(entity).name].delete_one({"_id": key})


class RedisRaw(RawStore):
    async def open(self) -> None:
        self.redis = aioredis.from_url(self.ep.url, decode_responses=True)

    async def close(self) -> None:
        await self.redis.aclose()

    async def plant_foreign(self, name: str) -> None:
        await self.redis.set(f"{name}:keepme", "1")

    async def foreign_intact(self, name: str) -> bool:
        return await self.redis.get(f"{name}:keepme") == "1"

    async def drop_foreign(self, name: str) -> None:
        keys = [k async for k in self.redis.scan_iter(match=f"{name}:*")]
        if keys:
            await self.redis.delete(*keys)

    async def namespace_exists(self, name: str) -> bool:
        return bool([k async for k in self.redis.scan_iter(match=f"{name}:*")])

    async def corrupt(self, store: Any, entity: str, key: Any, field: str, value: Any) -> None:
        # The hash alone, as the store's text (mapping.encode): its index entries and counters stay as they were.
        layout = store.design.layouts[entity]
        column = layout.column(field)
        hash_key = redis_mapping.hash_key(store.namespace, entity, key)
        if column is None:  # an owned collection: its JSON rows, as the store's codec writes them
            names = [c.name for c in layout.columns] + [c.name for c in layout.collections]
            await self.redis.hset(hash_key, field, Codec(layout).args({**_blank(layout), field: value})[
                names.index(field)])
            return
        text = redis_mapping.encode(column.kind, value)
        if text == redis_mapping.NULL:
            await self.redis.hdel(hash_key, field)
        else:
            await self.redis.hset(hash_key, field, text)

    async def remove(self, store: Any, entity: str, key: Any) -> None:
        await self.redis.delete(redis_mapping.hash_key(store.namespace, entity, key))


class ElasticRaw(RawStore):
    async def open(self) -> None:
        self.es = AsyncElasticsearch(self.ep.url, node_class=PlainJsonNode, **client_tls(self.ep))

    async def close(self) -> None:
        await self.es.close()

    async def plant_foreign(self, name: str) -> None:
        await self.es.index(index=f"{name}-orders", id="1", document={"keep": "me"}, refresh=True)

    async def foreign_intact(self, name: str) -> bool:
        return bool((await self.es.options(ignore_status=404).get(index=f"{name}-orders", id="1")).get("found"))

    async def drop_foreign(self, name: str) -> None:
        await self.es.options(ignore_status=404).indices.delete(index=f"{name}-orders")

    async def namespace_exists(self, name: str) -> bool:
        return bool(await self.es.indices.exists(index=f"{name}-orders"))

    async def corrupt(self, store: Any, entity: str, key: Any, field: str, value: Any) -> None:
        # A partial update of _source, as the store's codec writes the field (nested children included).
        children = {member: (parent, codec) for member, parent, codec in store.codecs[entity].children}
        if field in children:
            parent, codec = children[field]
            value = [codec.encode(c, parent) for c in value]
        await self.es.update(index=store.design.index(entity), id=key, doc={field: wire(value)}, refresh=True)

    async def remove(self, store: Any, entity: str, key: Any) -> None:
        await self.es.delete(index=store.design.index(entity), id=key, refresh=True)


class InfluxRaw(RawStore):
    async def open(self) -> None:
        token = self.ep.settings.get("token")
        headers = {"Authorization": f"Token {token}"} if token else {}
        self.http = aiohttp.ClientSession(base_url=self.ep.url, headers=headers,
                                          connector=aiohttp.TCPConnector(ssl=https_context(self.ep) or True))

    async def close(self) -> None:
        await self.http.close()

    async def influxql(self, q: str, db: str | None = None, epoch: str | None = None) -> dict:
        params = {"q": q} | ({"db": db} if db else {}) | ({"epoch": epoch} if epoch else {})
        async with self.http.post("/query", params=params) as resp:
            return (await resp.json())["results"][0]

    async def plant_foreign(self, name: str) -> None:
        await self.influxql(f'CREATE DATABASE "{name}"')
        async with self.http.post("/write", params={"db": name}, data=b"keepme value=1 1") as resp:
            assert resp.status == 204

    async def foreign_intact(self, name: str) -> bool:
        result = await self.influxql("SELECT count(value) FROM keepme", db=name)
        return result.get("series", [{}])[0].get("values", [[0, 0]])[0][1] == 1

    async def drop_foreign(self, name: str) -> None:
        await self.influxql(f'DROP DATABASE "{name}"')

    async def namespace_exists(self, name: str) -> bool:
        result = await self.influxql("SHOW DATABASES")
        return [name] in result.get("series", [{}])[0].get("values", [])

    async def _point(self, store: Any, entity: str, key: Any) -> tuple[Any, dict[str, Any], str]:
        m = store.design.measurements[entity]
        result = await self.influxql(f"SELECT * FROM {influx_mapping.ident(m.name)} WHERE "
                                     f"{influx_mapping.ident(m.key)} = {influx_mapping.quote(str(key))}",
                                     db=store.namespace, epoch="ms")
        series = result["series"][0]
        record = store.rows[entity].records(series["columns"], series["values"])[0]
        where = [f"time = {influx_mapping.epoch_ms(record[m.time])}ms"]
        where += [f"{influx_mapping.ident(c.name)} = {influx_mapping.literal(c, record[c.name])}"
                  for c in m.tags if record[c.name] is not None]
        return m, record, f"DELETE FROM {influx_mapping.ident(m.name)} WHERE {' AND '.join(where)}"

    async def corrupt(self, store: Any, entity: str, key: Any, field: str, value: Any) -> None:
        # The point rewritten with one value changed, in the store's own line protocol; a tag names another series,
        # so the old point goes first.
        m, record, delete = await self._point(store, entity, key)
        if field in {c.name for c in m.tags} or field == m.time:
            assert "error" not in await self.influxql(delete, db=store.namespace)
        line = store.lines[entity]({**record, field: value})
        async with self.http.post("/write", params={"db": store.namespace, "precision": "ms"},
                                  data=line.encode()) as resp:
            assert resp.status == 204, await resp.text()

    async def remove(self, store: Any, entity: str, key: Any) -> None:
        _, _, delete = await self._point(store, entity, key)
        assert "error" not in await self.influxql(delete, db=store.namespace)


def _blank(layout: Any) -> dict[str, Any]:
    """An instance of a Redis layout with every member empty (to encode one member alone)."""
    return {**{c.name: None for c in layout.columns}, **{c.name: [] for c in layout.collections}}


HELPERS: dict[str, type[RawStore]] = {"postgres": PostgresRaw, "mongo": MongoRaw, "redis": RedisRaw,
                                      "elastic": ElasticRaw, "influx": InfluxRaw}


class Raw:
    """`async with Raw(store, settings) as raw:` the store's helper, connected; `url`: another login on the same
    server (the stack's administrative one, to plant data the run's login may not touch)."""

    def __init__(self, store: str, settings: Settings, url: str | None = None):
        if store not in HELPERS:
            raise LookupError(f"tests/raw.py has no helper for store {store!r}: add a RawStore subclass to HELPERS "
                              f"(known: {', '.join(HELPERS)})")
        ep = endpoint(settings, store)
        self.helper = HELPERS[store](ep if url is None else Endpoint(store, url, ep.settings, ep.insecure))

    async def __aenter__(self) -> RawStore:
        await self.helper.open()
        return self.helper

    async def __aexit__(self, *exc: Any) -> None:
        await self.helper.close()
