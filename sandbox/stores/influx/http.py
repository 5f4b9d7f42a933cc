"""InfluxDB's v1 HTTP API (served by 1.x, 2.x and 3.x): the session, InfluxQL queries, line-protocol writes, and
a run's database (a 2.x bucket mapped to a v1 database of the same name)."""

from __future__ import annotations

import json
from typing import Any

import aiohttp

from sandbox.config import Endpoint
from sandbox.errors import SandboxError, UsageError
from sandbox.stores.contract import ServerInfo
from sandbox.stores.tls import https_context


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


class InfluxHttp:
    """One run's database over one aiohttp session: connect, create, write, query, drop."""

    def __init__(self, endpoint: Endpoint, namespace: str, connections: int):
        self.endpoint, self.namespace, self.connections = endpoint, namespace, connections
        self.session: aiohttp.ClientSession
        self.major = 1
        self.bucket_id: str | None = None
        self.created = False

    async def connect(self) -> ServerInfo:
        token = self.endpoint.settings.get("token")
        headers = {"Authorization": f"Token {token}"} if token else {}
        self.session = aiohttp.ClientSession(
            base_url=self.endpoint.url, headers=headers,
            connector=aiohttp.TCPConnector(limit=self.connections + 2, ssl=https_context(self.endpoint) or True),
            timeout=aiohttp.ClientTimeout(total=30))
        async with self.session.get("/ping") as resp:
            version = resp.headers.get("X-Influxdb-Version", "?")
            build = resp.headers.get("X-Influxdb-Build", "")
        self.major = int(version.lstrip("v").split(".")[0]) if version[:1].lstrip("v").isdigit() else 1
        return ServerInfo("InfluxDB", version, f"{build} build, v1 HTTP API".strip())

    async def query(self, q: str, *, post: bool = False) -> list[dict[str, Any]]:
        """InfluxQL in this run's database (times as epoch ms)."""
        return await run_influxql(self.session, q, db=self.namespace, post=post, epoch="ms")

    async def write_lines(self, body: str) -> None:
        async with self.session.post("/write", params={"db": self.namespace, "precision": "ms"},
                                     data=body.encode()) as resp:
            if resp.status != 204:
                raise SandboxError(f"InfluxDB write failed ({resp.status}): {(await resp.text()).strip()[:200]}")

    async def create(self) -> None:
        """This run's database; UsageError saying "already" when it is there (never adopt someone else's)."""
        if self.major >= 2:
            await self._create_bucket()
        else:  # CREATE DATABASE succeeds on an existing database, so look first
            names = [v[0] for s in await self.query("SHOW DATABASES") for v in s.get("values", [])]
            if self.namespace in names:
                raise UsageError(f"InfluxDB database {self.namespace} already exists; choose another run id")
            await self.query(f'CREATE DATABASE "{self.namespace}"', post=True)
        self.created = True

    async def _create_bucket(self) -> None:
        org = self.endpoint.settings.get("org")
        async with self.session.get("/api/v2/orgs", params={"org": org or ""}) as resp:
            orgs = (await resp.json()).get("orgs", [])
        if not orgs:
            raise UsageError(f"InfluxDB org {org!r} not found: set SANDBOX_INFLUX_ORG")
        org_id = orgs[0]["id"]
        async with self.session.post("/api/v2/buckets", json={"orgID": org_id, "name": self.namespace}) as resp:
            if resp.status == 422:
                raise UsageError(f"InfluxDB bucket {self.namespace} already exists; choose another run id")
            resp.raise_for_status()
            self.bucket_id = (await resp.json())["id"]
        async with self.session.post("/api/v2/dbrps", json={
                "orgID": org_id, "bucketID": self.bucket_id, "database": self.namespace,
                "retention_policy": "autogen", "default": True}) as resp:
            resp.raise_for_status()

    async def drop(self) -> None:
        """DROP DATABASE (2.x: the bucket) of this run only, and only when create() made it."""
        if not self.created:
            return
        if self.bucket_id:
            async with self.session.delete(f"/api/v2/buckets/{self.bucket_id}") as resp:
                resp.raise_for_status()
        else:
            await self.query(f'DROP DATABASE "{self.namespace}"', post=True)
        self.created = False

    async def close(self) -> None:
        if hasattr(self, "session"):
            await self.session.close()
