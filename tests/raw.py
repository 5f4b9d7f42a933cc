"""Direct access to each store with its own client, bypassing the adapters.

Tests use it to plant data the sandbox did not create, and to corrupt or delete what it wrote,
so that what the adapters and the comparison report can be checked against the real server.
"""

from __future__ import annotations

from typing import Any

import aiohttp
import asyncpg
import redis.asyncio as aioredis
from elasticsearch import AsyncElasticsearch
from pymongo import AsyncMongoClient

from sandbox.config import Settings, endpoint
from sandbox.stores.elastic.adapter import PlainJsonNode
from sandbox.stores.influx.adapter import MEASUREMENT


class Raw:
    """One store's native client with the few operations the tests need."""

    def __init__(self, store: str, settings: Settings):
        self.store = store
        self.ep = endpoint(settings, store)

    async def __aenter__(self) -> Raw:
        url = self.ep.url
        if self.store == "postgres":
            self.pg = await asyncpg.connect(url)
        elif self.store == "mongo":
            self.mongo: AsyncMongoClient = AsyncMongoClient(url)
        elif self.store == "redis":
            self.redis = aioredis.from_url(url, decode_responses=True)
        elif self.store == "elastic":
            self.es = AsyncElasticsearch(url, node_class=PlainJsonNode)
        else:
            headers = {"Authorization": f"Token {self.ep.token}"} if self.ep.token else {}
            self.http = aiohttp.ClientSession(base_url=url, headers=headers)
        return self

    async def __aexit__(self, *exc: Any) -> None:
        if self.store == "postgres":
            await self.pg.close()
        elif self.store == "mongo":
            await self.mongo.close()
        elif self.store == "redis":
            await self.redis.aclose()
        elif self.store == "elastic":
            await self.es.close()
        else:
            await self.http.close()

    async def influxql(self, q: str, db: str | None = None) -> dict:
        params = {"q": q} | ({"db": db} if db else {})
        async with self.http.post("/query", params=params) as resp:
            return (await resp.json())["results"][0]

    # -- a namespace of someone else's ---------------------------------------------------------
    async def plant_foreign(self, name: str) -> None:
        if self.store == "postgres":
            await self.pg.execute(f'CREATE SCHEMA "{name}"; CREATE TABLE "{name}".keepme (id int); '
                                  f'INSERT INTO "{name}".keepme VALUES (1)')
        elif self.store == "mongo":
            await self.mongo[name]["keepme"].insert_one({"_id": 1})
        elif self.store == "redis":
            await self.redis.set(f"{name}:keepme", "1")
        elif self.store == "elastic":
            await self.es.index(index=f"{name}-orders", id="1", document={"keep": "me"}, refresh=True)
        else:
            await self.influxql(f'CREATE DATABASE "{name}"')
            async with self.http.post("/write", params={"db": name}, data=b"keepme value=1 1") as resp:
                assert resp.status == 204

    async def foreign_intact(self, name: str) -> bool:
        if self.store == "postgres":
            return await self.pg.fetchval(f'SELECT count(*) FROM "{name}".keepme') == 1
        if self.store == "mongo":
            return await self.mongo[name]["keepme"].count_documents({}) == 1
        if self.store == "redis":
            return await self.redis.get(f"{name}:keepme") == "1"
        if self.store == "elastic":
            return bool((await self.es.options(ignore_status=404).get(index=f"{name}-orders", id="1")).get("found"))
        result = await self.influxql("SELECT count(value) FROM keepme", db=name)
        return result.get("series", [{}])[0].get("values", [[0, 0]])[0][1] == 1

    async def drop_foreign(self, name: str) -> None:
        """Drop a whole namespace (planted, or left by --keep)."""
        if self.store == "postgres":
            await self.pg.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
        elif self.store == "mongo":
            await self.mongo.drop_database(name)
        elif self.store == "redis":
            keys = [k async for k in self.redis.scan_iter(match=f"{name}:*")]
            if keys:
                await self.redis.delete(*keys)
        elif self.store == "elastic":
            await self.es.options(ignore_status=404).indices.delete(index=f"{name}-orders")
        else:
            await self.influxql(f'DROP DATABASE "{name}"')

    async def namespace_exists(self, name: str) -> bool:
        if self.store == "postgres":
            return bool(await self.pg.fetchval("SELECT count(*) FROM pg_namespace WHERE nspname = $1", name))
        if self.store == "mongo":
            return name in await self.mongo.list_database_names()
        if self.store == "redis":
            return bool([k async for k in self.redis.scan_iter(match=f"{name}:*")])
        if self.store == "elastic":
            return bool(await self.es.indices.exists(index=f"{name}-orders"))
        result = await self.influxql("SHOW DATABASES")
        return [name] in result.get("series", [{}])[0].get("values", [])

    # -- tampering with what the sandbox wrote ---------------------------------------------------
    async def set_status(self, namespace: str, order_id: str, status: str, created_ms: int) -> None:
        if self.store == "postgres":
            await self.pg.execute(f'UPDATE "{namespace}".orders SET status = $1 WHERE id = $2', status, order_id)
        elif self.store == "mongo":
            await self.mongo[namespace]["orders"].update_one({"_id": order_id}, {"$set": {"status": status}})
        elif self.store == "redis":
            await self.redis.hset(f"{namespace}:order:{order_id}", "status", status)
        elif self.store == "elastic":
            await self.es.update(index=f"{namespace}-orders", id=order_id, doc={"status": status}, refresh=True)
        else:
            # A point is keyed by series (tags) and time: rewrite it under another status tag.
            await self._influx_delete(namespace, created_ms)
            point = (f"{MEASUREMENT},customer_segment=standard,status={status} item_count=1i,"
                     f'order_id="{order_id}",order_value=1.0 {created_ms}')
            async with self.http.post("/write", params={"db": namespace, "precision": "ms"},
                                      data=point.encode()) as resp:
                assert resp.status == 204

    async def delete(self, namespace: str, order_id: str, created_ms: int) -> None:
        if self.store == "postgres":
            await self.pg.execute(f'DELETE FROM "{namespace}".orders WHERE id = $1', order_id)
        elif self.store == "mongo":
            await self.mongo[namespace]["orders"].delete_one({"_id": order_id})
        elif self.store == "redis":
            await self.redis.delete(f"{namespace}:order:{order_id}")
        elif self.store == "elastic":
            await self.es.delete(index=f"{namespace}-orders", id=order_id, refresh=True)
        else:
            await self._influx_delete(namespace, created_ms)

    async def _influx_delete(self, namespace: str, created_ms: int) -> None:
        result = await self.influxql(f"DELETE FROM {MEASUREMENT} WHERE time = {created_ms}ms", db=namespace)
        assert "error" not in result, result
