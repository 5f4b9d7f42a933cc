"""InfluxDB as a model store (stores/contract.py) over the v1 HTTP API that 1.x, 2.x and 3.x serve.

mapping.py derives the measurements and each pattern's InfluxQL; codec.py builds line protocol and reads rows
back. A write is one line-protocol POST (`precision=ms`: 1.6 takes `us`/`ns` silently as nanoseconds, so only
n, u, ms and s are safe); a batch is one POST of its lines. The database (a 2.x bucket), the HTTP session and
InfluxQL are http.py's. The design option `fields` (mapping.py) keeps only the fields a model variant names.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from sandbox.config import Endpoint
from sandbox.errors import SandboxError, UsageError
from sandbox.stores.contract import Answerer, FootprintReading, Kept, NamespaceExists, NotAnswerable, ServerInfo
from sandbox.stores.influx import footprint, mapping, stats
from sandbox.stores.influx.analytics import InfluxAnalytics
from sandbox.stores.influx.codec import Rows, compile_line
from sandbox.stores.influx.http import InfluxHttp
from sandbox.stores.server_stats import ServerStats
from sandbox.workload.dataset import Dataset, Instance
from sandbox.workload.schema import Model, Pattern

SCAN_CHUNK = 5000  # points per chunk of a streamed scan (chunked=true): memory flat in the number of points


class InfluxModelStore(InfluxAnalytics):
    money = "float64"

    def __init__(self, endpoint: Endpoint, namespace: str, model: Model, options: Mapping[str, Any]):
        self.name = "influx"
        self.endpoint, self.namespace = endpoint, namespace
        self.model = model
        self.design = mapping.derive(model, options)
        self.http = InfluxHttp(endpoint, namespace, int(options.get("connections", 8)))
        self.lines = {e: compile_line(m) for e, m in self.design.measurements.items()}
        self.rows = {e: Rows(m) for e, m in self.design.measurements.items()}
        self._root = model.root
        self._prepared = False

    @property
    def session(self) -> Any:  # markers.py and tests/raw.py reach the server through it
        return self.http.session

    async def connect(self) -> ServerInfo:
        return await self.http.connect()

    async def server_stats(self) -> ServerStats:
        return await stats.snapshot(self.http.query, self.namespace)

    async def footprint(self) -> FootprintReading:
        """The run's database's shards, on disk or per SHOW STATS (footprint.py): contract.Footprint."""
        return await footprint.footprint(self.http.query, self.namespace)

    async def query(self, q: str, *, post: bool = False) -> list[dict[str, Any]]:
        return await self.http.query(q, post=post)

    async def write_lines(self, body: str) -> None:
        await self.http.write_lines(body)

    async def prepare(self, data: Dataset) -> None:
        # The run's database (or 2.x bucket); reference data is not kept (not event streams).
        try:
            await self.http.create()
        except UsageError as exc:
            raise NamespaceExists(str(exc)) from None
        self._prepared = True

    def _line(self, instance: Instance) -> str:
        line = self.lines.get(self._root)
        if line is None:
            raise UsageError(f"InfluxDB keeps no {self._root}: {self.design.unsuited[self._root]}")
        return line(instance)

    async def write(self, instance: Instance) -> None:
        await self.http.write_lines(self._line(instance))

    async def write_batch(self, instances: Sequence[Instance]) -> None:
        if instances:
            await self.http.write_lines("\n".join(map(self._line, instances)))

    async def read(self, entity: str, key: Any) -> dict[str, Any] | None:
        m = self.design.measurements.get(entity)
        if m is None:
            return None  # not kept (kept() says so)
        series = await self.query(f"SELECT * FROM {mapping.ident(m.name)} WHERE {mapping.ident(m.key)} = "
                                  f"{mapping.quote(str(key))} AND {mapping.WHOLE_RANGE}")
        for s in series:
            found = self.rows[entity].records(s["columns"], s["values"])
            if found:
                return found[0]
        return None

    async def visible(self, key: Any) -> bool:
        return await self.read(self._root, key) is not None  # InfluxQL: the path every reader queries

    async def scan(self, entity: str) -> AsyncIterator[dict[str, Any]]:
        m = self.design.measurements.get(entity)
        if m is None:
            return
        rows = self.rows[entity]
        params = {"q": f"SELECT * FROM {mapping.ident(m.name)} WHERE {mapping.WHOLE_RANGE}", "db": self.namespace,
                  "epoch": "ms", "chunked": "true", "chunk_size": str(SCAN_CHUNK)}
        async with self.session.get("/query", params=params) as resp:
            if resp.status >= 400:
                raise SandboxError(f"InfluxDB query failed ({resp.status}): {(await resp.text()).strip()[:200]}")
            buffered = b""
            async for piece in resp.content.iter_any():  # one JSON document per line, a chunk of points each
                buffered += piece
                *docs, buffered = buffered.split(b"\n")
                for doc in docs:
                    for record in _records(rows, doc):
                        yield record
            for record in _records(rows, buffered):
                yield record

    def kept(self, entity: str) -> Kept:
        return mapping.kept(self.design, entity)

    def answer(self, pattern: Pattern) -> Answerer | NotAnswerable:
        from sandbox.stores.influx.patterns import answerer

        plan = self.design.plans.get(pattern.name)
        if plan is None:
            return NotAnswerable(f"{pattern.name} is not a pattern of the model {self.model.name}")
        return NotAnswerable(plan) if isinstance(plan, str) else answerer(self, plan)

    def describe(self) -> str:
        return mapping.describe(self.design, self.namespace)

    def transactions(self) -> NotAnswerable:
        """contract.TransactionalWorkload: none (why below)."""
        return NotAnswerable("append-only points, no transactions and no read-modify-write: nothing to isolate")

    async def teardown(self) -> None:
        if self._prepared:
            await self.http.drop()  # DROP DATABASE (2.x: the bucket) of this run only
            self._prepared = False

    async def close(self) -> None:
        await self.http.close()


def _records(rows: Rows, doc: bytes) -> list[dict[str, Any]]:
    if not doc.strip():
        return []
    result = json.loads(doc)["results"][0]
    if "error" in result:
        raise SandboxError(f"InfluxDB query failed: {result['error']}")
    return [r for s in result.get("series", []) for r in rows.records(s["columns"], s["values"])]


def make(endpoint: Endpoint, namespace: str, model: Model, options: Mapping[str, Any]) -> InfluxModelStore:
    return InfluxModelStore(endpoint, namespace, model, options)
