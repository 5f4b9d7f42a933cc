"""A domain model on Elasticsearch (stores/contract.py ModelStore), with the async client (PlainJsonNode).

The design (mapping.py) decides indices and mappings; documents.py converts instances. A single write is
one index request (op_type create: writing a key twice is refused, as the other stores refuse it), a batch
one `_bulk`; `es_refresh` (false | wait_for | true, default false) is the refresh parameter of both. Reads
by id are GETs (realtime); scan refreshes the index once and scrolls; searching answerers refresh once, on
their first call (patterns.py). Reference data: one `_bulk` at prepare, refreshed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from elasticsearch import BadRequestError, ConflictError
from elasticsearch.helpers import async_scan

from sandbox.config import Endpoint
from sandbox.errors import SandboxError, UsageError
from sandbox.stores.contract import Answerer, FootprintReading, Kept, NamespaceExists, NotAnswerable, Record, ServerInfo
from sandbox.stores.elastic import footprint, stats
from sandbox.stores.elastic.analytics import ElasticAnalytics
from sandbox.stores.elastic.client import open_client, server_info
from sandbox.stores.elastic.documents import Codec
from sandbox.stores.elastic.mapping import ElasticDesign, derive
from sandbox.stores.elastic.patterns import answerer
from sandbox.stores.server_stats import ServerStats
from sandbox.workload.dataset import Dataset, Instance
from sandbox.workload.schema import Model, Pattern

REFRESH = ("false", "wait_for", "true")
SETTINGS = {"number_of_shards": 1, "number_of_replicas": 0,
            "refresh_interval": "1s"}  # explicit, so search-idle shards do not silently stop refreshing


class ElasticModelStore(ElasticAnalytics):
    money = "scaled_float (aggregations are doubles)"

    def __init__(self, endpoint: Endpoint, namespace: str, model: Model, options: Mapping[str, Any]):
        self.name = "elastic"
        self.endpoint, self.namespace, self.model = endpoint, namespace, model
        self.design: ElasticDesign = derive(model, namespace)
        self.connections = int(options.get("connections", 8))
        refresh = str(options.get("es_refresh", "false"))
        if refresh not in REFRESH:
            raise UsageError(f"es_refresh = {refresh!r}: choose from {', '.join(REFRESH)}")
        self.refresh: str | None = None if refresh == "false" else refresh  # None: the parameter is not sent
        self.codecs = {e: Codec(model, ix.entity) for e, ix in self.design.indices.items()}
        version = model.root_entity.version_field
        self.version_field = version.name if version is not None else "version"
        self._created: list[str] = []

    @property
    def indices(self) -> tuple[str, ...]:
        """Every index prepare creates: what the namespace marker covers (markers.py), so gc drops them all."""
        return tuple(ix.name for ix in self.design.indices.values())

    async def connect(self) -> ServerInfo:
        self.es = open_client(self.endpoint, self.connections)
        return server_info((await self.es.info()).body)

    async def server_stats(self) -> ServerStats:
        return await stats.snapshot(self.es, self.design.index(self.model.root))

    async def footprint(self) -> FootprintReading:
        """_stats store and translog of the run's indices (footprint.py): contract.Footprint."""
        return await footprint.footprint(self.es, [ix.name for ix in self.design.indices.values()])

    async def prepare(self, data: Dataset) -> None:
        for entity in (self.model.root, *(e.name for e in self.model.references)):  # the root's first: it says
            ix = self.design.indices[entity]                                      # whether the namespace exists
            try:
                await self.es.indices.create(index=ix.name, mappings=dict(ix.mapping), settings=SETTINGS)
            except BadRequestError as exc:
                if "already_exists" in str(exc.error):
                    raise NamespaceExists(f"Elasticsearch index {ix.name} already exists; choose another run id") \
                        from None
                raise
            self._created.append(ix.name)
        operations: list[dict[str, Any]] = []
        for e in self.model.references:
            index, codec = self.design.index(e.name), self.codecs[e.name]
            for inst in data.reference[e.name]:
                operations += [{"create": {"_index": index, "_id": inst[e.key]}}, codec.encode(inst)]
        if operations:
            await self._bulk(operations, "reference", refresh="true")

    def transactions(self) -> NotAnswerable:
        """contract.TransactionalWorkload: none (why below)."""
        return NotAnswerable("per-document optimistic concurrency only (if_seq_no / if_primary_term on one "
                             "document); no transaction spans two documents, so multi-key transactions are impossible")

    async def teardown(self) -> None:
        for index in reversed(self._created):
            # ignore 404: an in-memory server that restarted has already lost the index
            await self.es.options(ignore_status=404).indices.delete(index=index)
        self._created = []

    async def close(self) -> None:
        if hasattr(self, "es"):
            await self.es.close()

    async def write(self, instance: Instance) -> None:
        root = self.model.root
        await self.es.index(index=self.design.index(root), id=instance[self.model.root_entity.key],
                            document=self.codecs[root].encode(instance), op_type="create", refresh=self.refresh)

    async def write_batch(self, instances: Sequence[Instance]) -> None:
        root = self.model.root
        index, codec, key = self.design.index(root), self.codecs[root], self.model.root_entity.key
        operations: list[dict[str, Any]] = []
        for inst in instances:
            operations += [{"create": {"_index": index, "_id": inst[key]}}, codec.encode(inst)]
        await self._bulk(operations, root, refresh=self.refresh)

    async def _bulk(self, operations: list[dict[str, Any]], what: str, refresh: str | None) -> None:
        resp = await self.es.bulk(operations=operations, refresh=refresh)
        if resp.get("errors"):
            failed = [item["create"] for item in resp["items"] if item["create"].get("error")]
            raise SandboxError(f"_bulk refused {len(failed)} of {len(operations) // 2} {what} documents: "
                               f"{failed[0]['error'].get('reason', failed[0]['error'])}"[:300])

    async def upsert(self, instance: Instance, version: int) -> bool:
        # External versioning: the index is refused (409) unless the version is newer than the stored one.
        root = self.model.root
        doc = self.codecs[root].encode(instance)
        if self.model.root_entity.version_field is not None:
            doc[self.version_field] = version
        try:
            await self.es.index(index=self.design.index(root), id=instance[self.model.root_entity.key], document=doc,
                                version=version, version_type="external", refresh=self.refresh)
        except ConflictError:
            return False
        return True

    async def fetch(self, entity: str, key: Any, left_out: Sequence[str]) -> Record | None:
        """One instance by key (a realtime GET), without the owned collections in `left_out`."""
        resp = await self.es.options(ignore_status=404).get(index=self.design.index(entity), id=key,
                                                             source_excludes=list(left_out) or None)
        return self.codecs[entity].decode(resp["_source"]) if resp.get("found") else None

    async def read(self, entity: str, key: Any) -> Record | None:
        if entity not in self.design.indices:
            raise UsageError(f"{entity} is owned by another entity in this model: read its owner")
        return await self.fetch(entity, key, ())

    async def visible(self, key: Any) -> bool:
        # A search, which sees only refreshed segments (a GET by id is realtime and would hide the lag).
        resp = await self.es.search(index=self.design.index(self.model.root), query={"ids": {"values": [key]}},
                                    size=0, track_total_hits=True)
        return bool(resp["hits"]["total"]["value"])

    async def scan(self, entity: str) -> AsyncIterator[Record]:
        index, codec = self.design.index(entity), self.codecs[entity]
        if not await self.es.indices.exists(index=index):
            return  # the index is gone (an in-memory server restarted): it holds nothing
        await self.es.indices.refresh(index=index)  # once: what was written before the scan is in it
        async for hit in async_scan(self.es, index=index, query={"query": {"match_all": {}}}, size=2000):
            yield codec.decode(hit["_source"])

    def kept(self, entity: str) -> Kept:
        e = self.model.entity(entity)
        return Kept(tuple(f.name for f in e.stored_fields),
                    {c.name: tuple(f.name for f in self.model.entity(c.entity).stored_fields) for c in e.children})

    def answer(self, pattern: Pattern) -> Answerer | NotAnswerable:
        return answerer(self, pattern)

    def describe(self) -> str:
        return self.design.describe()
