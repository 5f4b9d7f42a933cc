"""InfluxDB: the playbook's order_metrics measurement over the v1-compatible HTTP API.

Line protocol to /write and InfluxQL to /query work on InfluxDB 1.x (the native backend's 1.6),
2.x (compose; token auth, buckets mapped to a database) and 3.x. influxdb-client's v2 write and
Flux APIs do not exist on 1.x or 3.x; its Point is the reference for the line protocol written here
(tests/test_influx_line.py).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import aiohttp

from sandbox.errors import SandboxError, UsageError
from sandbox.stores.base import Capability, ServerInfo, StatusTotal, Store
from sandbox.stores.influx import stats
from sandbox.stores.influx.analytics import InfluxAnalytics
from sandbox.stores.server_stats import ServerStats
from sandbox.stores.tls import https_context
from sandbox.workload.model import Catalog, Order, OrderRecord

MEASUREMENT = "order_metrics"
FIELDS = "order_id, order_value, item_count, status, customer_segment"


_TAG_ESCAPES = str.maketrans({",": "\\,", "=": "\\=", " ": "\\ "})


def line(o: Order, version: int | None = None) -> str:
    """One order as line protocol, keys in sorted order as influxdb_client's Point writes them.

    Formatted directly: Point costs ~22 us an order, a third of a bulk load's time. The tests check
    this against Point for many orders."""
    tags = (f"customer_segment={o.customer_segment.value.translate(_TAG_ESCAPES)},"
            f"status={o.status.value.translate(_TAG_ESCAPES)}")
    order_id = o.id.replace("\\", "\\\\").replace('"', '\\"')
    value = repr(float(o.total_amount)).removesuffix(".0")  # "951", as other line-protocol encoders write it
    fields = f'item_count={len(o.items)}i,order_id="{order_id}",order_value={value}'
    if version is not None:
        fields += f",version={version}i"
    return f"{MEASUREMENT},{tags} {fields} {_ms(o)}"


def _ms(o: Order) -> int:
    return int(o.created_at.timestamp() * 1000)


def _ms_of(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def _quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _records(series: list[dict[str, Any]]) -> list[OrderRecord]:
    out = []
    for s in series:
        cols = s["columns"]
        for values in s["values"]:
            row = dict(zip(cols, values, strict=True))
            # Float64 field: repr gives the shortest exact decimal the float stands for.
            value = row.get("order_value")
            out.append(OrderRecord(row["order_id"], row.get("status"),
                                   Decimal(repr(value)) if value is not None else None,
                                   row.get("item_count"), None, row.get("customer_segment"), None))
    return out


class InfluxStore(InfluxAnalytics, Store):
    name = "influx"
    capabilities = frozenset({Capability.BATCH_WRITE, Capability.UPSERT, Capability.SEARCH_PATH,
                              Capability.TIME_RANGE, Capability.ANALYTICS})
    concurrency_control = ("none: points are appended, with no conditional write or transaction; "
                           "left out of status updates and stock")
    money_note = "float64 field"

    session: aiohttp.ClientSession
    _created = False
    _major = 1
    _bucket_id: str | None = None

    line = staticmethod(line)  # an order as the line-protocol point it is written as (bench: curl input)

    @property
    def org(self) -> str | None:
        return self.endpoint.settings.get("org")

    async def connect(self) -> ServerInfo:
        token = self.endpoint.settings.get("token")
        headers = {"Authorization": f"Token {token}"} if token else {}
        self.session = aiohttp.ClientSession(
            base_url=self.endpoint.url, headers=headers,
            connector=aiohttp.TCPConnector(limit=self.options.connections + 2,
                                           ssl=https_context(self.endpoint) or True),
            timeout=aiohttp.ClientTimeout(total=30))
        async with self.session.get("/ping") as resp:
            version = resp.headers.get("X-Influxdb-Version", "?")
            build = resp.headers.get("X-Influxdb-Build", "")
        self._major = int(version.lstrip("v").split(".")[0]) if version[:1].lstrip("v").isdigit() else 1
        return ServerInfo("InfluxDB", version, f"{build} build, v1 HTTP API".strip())

    async def _query(self, q: str, *, post: bool = False) -> list[dict[str, Any]]:
        """Run InfluxQL in this run's database (times as epoch ms)."""
        return await run_influxql(self.session, q, db=self.namespace, post=post, epoch="ms")

    async def server_stats(self) -> ServerStats:
        return await stats.snapshot(self._query, self.namespace)

    async def prepare(self, catalog: Catalog) -> None:
        if self._major >= 2:
            await self._create_bucket()
        else:
            # CREATE DATABASE succeeds on an existing database, so look first: never adopt someone else's.
            names = [v[0] for s in await self._query("SHOW DATABASES") for v in s.get("values", [])]
            if self.namespace in names:
                raise UsageError(f"InfluxDB database {self.namespace} already exists; choose another run id")
            await self._query(f'CREATE DATABASE "{self.namespace}"', post=True)
        self._created = True

    async def _create_bucket(self) -> None:
        """InfluxDB 2.x: a bucket for this run, mapped to a v1 database of the same name."""
        async with self.session.get("/api/v2/orgs", params={"org": self.org or ""}) as resp:
            orgs = (await resp.json()).get("orgs", [])
        if not orgs:
            raise UsageError(f"InfluxDB org {self.org!r} not found: set SANDBOX_INFLUX_ORG")
        org_id = orgs[0]["id"]
        async with self.session.post("/api/v2/buckets", json={"orgID": org_id, "name": self.namespace}) as resp:
            if resp.status == 422:
                raise UsageError(f"InfluxDB bucket {self.namespace} already exists; choose another run id")
            resp.raise_for_status()
            self._bucket_id = (await resp.json())["id"]
        async with self.session.post("/api/v2/dbrps", json={
                "orgID": org_id, "bucketID": self._bucket_id, "database": self.namespace,
                "retention_policy": "autogen", "default": True}) as resp:
            resp.raise_for_status()

    async def _write_lines(self, body: str) -> None:
        async with self.session.post("/write", params={"db": self.namespace, "precision": "ms"},
                                     data=body.encode()) as resp:
            if resp.status != 204:
                raise SandboxError(f"InfluxDB write failed ({resp.status}): {(await resp.text()).strip()[:200]}")

    async def write(self, order: Order) -> None:
        await self._write_lines(line(order))

    async def write_batch(self, orders: Sequence[Order]) -> None:
        await self._write_lines("\n".join(line(o) for o in orders))

    async def upsert(self, order: Order, version: int) -> bool:
        # A point is keyed by series (tags) + time, and status is a tag: a new status is a new series.
        # Order timestamps are unique to the millisecond within a workload, so the order's points are
        # exactly those at its time; a cheap time-bounded query finds them, and DELETE removes the old one.
        at = f"time = {_ms(order)}ms"
        rows = [dict(zip(s["columns"], v, strict=True)) for s in
                await self._query(f"SELECT order_id, version, status FROM {MEASUREMENT} WHERE {at}")
                for v in s["values"]]
        if any((r.get("version") or 1) >= version for r in rows):
            return False
        if any(r.get("status") != order.status.value for r in rows):
            await self._query(f"DELETE FROM {MEASUREMENT} WHERE {at}", post=True)
        await self._write_lines(line(order, version))
        return True

    async def orders_between(self, start: datetime, end: datetime, limit: int) -> list[str]:
        series = await self._query(f"SELECT order_id FROM {MEASUREMENT} WHERE time >= {_ms_of(start)}ms "
                                   f"AND time < {_ms_of(end)}ms LIMIT {int(limit)}")
        return [row[1] for s in series for row in s["values"]]

    async def read(self, order_id: str) -> OrderRecord | None:
        # order_id is a field (a tag per order would explode series cardinality), so this scans.
        found = _records(await self._query(f"SELECT {FIELDS} FROM {MEASUREMENT} WHERE order_id = {_quote(order_id)}"))
        return found[0] if found else None

    async def visible(self, order_id: str) -> bool:
        # InfluxQL, the query path readers use (the same statement as read()).
        return await self.read(order_id) is not None

    async def scan(self) -> AsyncIterator[OrderRecord]:
        for record in _records(await self._query(f"SELECT {FIELDS} FROM {MEASUREMENT}")):
            yield record

    async def aggregates(self) -> dict[str, StatusTotal]:
        series = await self._query(f"SELECT count(order_value), sum(order_value) FROM {MEASUREMENT} GROUP BY status")
        out = {}
        for s in series:
            _, count, total = s["values"][0]
            out[s["tags"]["status"]] = StatusTotal(int(count), Decimal(repr(total)))
        return out

    async def teardown(self) -> None:
        if not self._created:
            return
        if self._bucket_id:
            async with self.session.delete(f"/api/v2/buckets/{self._bucket_id}") as resp:
                resp.raise_for_status()
        else:
            await self._query(f'DROP DATABASE "{self.namespace}"', post=True)
        self._created = False

    async def close(self) -> None:
        if hasattr(self, "session"):
            await self.session.close()

    def describe(self) -> str:
        return "measurement order_metrics: tags status, customer_segment; fields order_value, item_count, order_id"


async def run_influxql(session: aiohttp.ClientSession, q: str, *, db: str | None = None, post: bool = False,
                       epoch: str | None = None) -> list[dict[str, Any]]:
    """Run InfluxQL over the v1 HTTP API; returns the statement's series (an error in the answer raises)."""
    params = {"q": q, **({"db": db} if db else {}), **({"epoch": epoch} if epoch else {})}
    async with (session.post if post else session.get)("/query", params=params) as resp:
        body = await resp.text()
        if resp.status >= 400:
            raise SandboxError(f"InfluxDB query failed ({resp.status}): {body.strip()[:200]}")
    result = json.loads(body)["results"][0]
    if "error" in result:
        raise SandboxError(f"InfluxDB query failed: {result['error']}")
    return list(result.get("series", []))
