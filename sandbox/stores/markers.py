"""Markers: every namespace a run creates says whose it is, so a killed run's leftovers can be found.

A marker holds the run id, when the namespace was created, and the host and process that created it.
It is written right after the namespace is created (prepare), in the namespace itself, in each store's
own terms: a table in the PostgreSQL schema, a collection in the MongoDB database, a hash under the
Redis key prefix, the `_meta` of the Elasticsearch index, a measurement in the InfluxDB database.
`sandbox gc` drops only namespaces that carry one: anything without a marker was not made by a run
of this sandbox (or was made before markers existed) and is never touched.
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from sandbox.errors import SandboxError
from sandbox.stores.base import Store
from sandbox.stores.influx.adapter import run_influxql
from sandbox.stores.redis.adapter import unlink_prefix

PREFIX = "sbx_"
MARKER = "_sandbox_marker"  # table, collection, key suffix, _meta field and measurement name


@dataclass(frozen=True)
class Marker:
    namespace: str
    run_id: str
    created_at: datetime
    host: str
    pid: int
    objects: tuple[str, ...] = ()  # what dropping it removes (indices), where a store has several

    @classmethod
    def new(cls, namespace: str, run_id: str) -> Marker:
        return cls(namespace, run_id, datetime.now(UTC), socket.gethostname(), os.getpid())

    def fields(self) -> dict[str, str]:
        return {"namespace": self.namespace, "run_id": self.run_id, "created_at": self.created_at.isoformat(),
                "host": self.host, "pid": str(self.pid)}

    @classmethod
    def from_fields(cls, fields: dict[str, Any], objects: tuple[str, ...] = ()) -> Marker:
        return cls(str(fields["namespace"]), str(fields["run_id"]), datetime.fromisoformat(str(fields["created_at"])),
                   str(fields["host"]), int(fields["pid"]), objects)

    def age_s(self, now: datetime) -> float:
        return (now - self.created_at).total_seconds()

    def run_alive(self) -> bool:
        """The creating process still runs on this host (then its namespace is in use, not left over)."""
        if self.host != socket.gethostname():
            return False
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True


@dataclass
class Found:
    """What one store holds under the sandbox's prefix."""

    marked: list[Marker]
    unmarked: list[str]  # namespaces with the prefix but no marker: left alone


class MarkerKind(Protocol):
    async def mark(self, store: Any, marker: Marker) -> None: ...
    async def find(self, store: Any) -> Found: ...
    async def drop(self, store: Any, marker: Marker) -> None: ...


class PostgresMarkers:
    async def mark(self, store: Any, marker: Marker) -> None:
        ns = _quoted(marker.namespace)
        async with store.pool.acquire() as conn, conn.transaction():
            await conn.execute(f"CREATE TABLE {ns}.{MARKER} (fields jsonb NOT NULL)")
            await conn.execute(f"INSERT INTO {ns}.{MARKER} VALUES ($1::jsonb)", json.dumps(marker.fields()))

    async def find(self, store: Any) -> Found:
        rows = await store.pool.fetch(
            "SELECT n.nspname, EXISTS (SELECT 1 FROM pg_class c WHERE c.relnamespace = n.oid AND c.relname = $1) "
            "FROM pg_namespace n WHERE starts_with(n.nspname, $2) ORDER BY 1", MARKER, PREFIX)
        found = Found([], [])
        for name, marked in rows:
            fields = await store.pool.fetchval(f"SELECT fields FROM {_quoted(name)}.{MARKER} LIMIT 1") \
                if marked else None
            if fields:
                found.marked.append(Marker.from_fields(json.loads(fields)))
            else:
                found.unmarked.append(name)
        return found

    async def drop(self, store: Any, marker: Marker) -> None:
        await store.pool.execute(f"DROP SCHEMA {_quoted(marker.namespace)} CASCADE")


class RedisMarkers:
    async def mark(self, store: Any, marker: Marker) -> None:
        await store.client.hset(f"{marker.namespace}:{MARKER}", mapping=marker.fields())

    async def find(self, store: Any) -> Found:
        marked, prefixes = [], set()
        async for key in store.client.scan_iter(match=f"{PREFIX}*", count=1000):
            namespace, _, rest = key.partition(":")
            prefixes.add(namespace)
            if rest == MARKER:
                marked.append(Marker.from_fields(await store.client.hgetall(key)))
        return Found(marked, sorted(prefixes - {m.namespace for m in marked}))

    async def drop(self, store: Any, marker: Marker) -> None:
        await unlink_prefix(store.client, marker.namespace)


class MongoMarkers:
    async def mark(self, store: Any, marker: Marker) -> None:
        await store.client[marker.namespace][MARKER].insert_one(marker.fields())

    async def find(self, store: Any) -> Found:
        found = Found([], [])
        for name in sorted(await store.client.list_database_names()):
            if not name.startswith(PREFIX):
                continue
            doc = await store.client[name][MARKER].find_one({}, {"_id": 0})
            if doc:
                found.marked.append(Marker.from_fields(doc))
            else:
                found.unmarked.append(name)
        return found

    async def drop(self, store: Any, marker: Marker) -> None:
        await store.client.drop_database(marker.namespace)


class ElasticMarkers:
    async def mark(self, store: Any, marker: Marker) -> None:
        for index in store.indices:
            await store.es.indices.put_mapping(index=index, meta={MARKER: marker.fields()})

    async def find(self, store: Any) -> Found:
        mappings = (await store.es.indices.get_mapping(index=f"{PREFIX}*")).body
        by_namespace: dict[str, tuple[dict[str, Any], list[str]]] = {}
        unmarked = []
        for index, body in sorted(mappings.items()):
            fields = body.get("mappings", {}).get("_meta", {}).get(MARKER)
            if fields:
                by_namespace.setdefault(fields["namespace"], (fields, []))[1].append(index)
            else:
                unmarked.append(index)
        return Found([Marker.from_fields(f, tuple(ix)) for f, ix in by_namespace.values()], unmarked)

    async def drop(self, store: Any, marker: Marker) -> None:
        for index in marker.objects:  # the marked indices only, never a pattern
            await store.es.options(ignore_status=404).indices.delete(index=index)


class InfluxMarkers:
    async def mark(self, store: Any, marker: Marker) -> None:
        fields = ",".join(f'{k}="{_line_string(v)}"' for k, v in marker.fields().items())
        async with store.session.post("/write", params={"db": marker.namespace, "precision": "ms"},
                                      data=f"{MARKER} {fields}".encode()) as resp:
            if resp.status != 204:
                raise SandboxError(f"InfluxDB marker write failed ({resp.status}): {(await resp.text())[:200]}")

    async def find(self, store: Any) -> Found:
        found = Found([], [])
        databases = await run_influxql(store.session, "SHOW DATABASES")
        for name in sorted(v[0] for s in databases for v in s.get("values", [])):
            if not name.startswith(PREFIX):
                continue
            series = await run_influxql(store.session, f"SELECT * FROM {MARKER} LIMIT 1", db=name)
            if series:
                found.marked.append(Marker.from_fields(dict(zip(series[0]["columns"], series[0]["values"][0],
                                                                strict=True))))
            else:
                found.unmarked.append(name)
        return found

    async def drop(self, store: Any, marker: Marker) -> None:
        async with store.session.get("/ping") as resp:
            major = resp.headers.get("X-Influxdb-Version", "1").lstrip("v")[:1]
        if major == "1":
            await run_influxql(store.session, f'DROP DATABASE "{marker.namespace}"', post=True)
            return
        async with store.session.get("/api/v2/buckets", params={"name": marker.namespace}) as resp:
            buckets = (await resp.json()).get("buckets", [])
        for bucket in buckets:
            async with store.session.delete(f"/api/v2/buckets/{bucket['id']}") as resp:
                resp.raise_for_status()


KINDS: dict[str, MarkerKind] = {"postgres": PostgresMarkers(), "redis": RedisMarkers(), "mongo": MongoMarkers(),
                                "elastic": ElasticMarkers(), "influx": InfluxMarkers()}


async def mark(store: Store, run_id: str) -> None:
    """Mark the namespace `store.prepare()` just created as this run's (a no-op for stores without one)."""
    kind = KINDS.get(store.name)
    if kind is not None:
        await kind.mark(store, Marker.new(store.namespace, run_id))


def _quoted(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _line_string(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')
