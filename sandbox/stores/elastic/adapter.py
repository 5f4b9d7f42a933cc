"""Elasticsearch (async client, major pinned to the server's): explicit mapping, nested items, _bulk."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from elastic_transport import AiohttpHttpNode, HttpHeaders
from elasticsearch import AsyncElasticsearch, BadRequestError, ConflictError
from elasticsearch.helpers import async_scan

from sandbox.errors import SandboxError, UsageError
from sandbox.stores.base import Capability, ServerInfo, StatusTotal, Store, StoreOptions
from sandbox.stores.elastic import stats
from sandbox.stores.elastic.analytics import ElasticAnalytics
from sandbox.stores.elastic.tls import client_tls
from sandbox.stores.server_stats import ServerStats
from sandbox.workload.model import Catalog, Order, OrderRecord

MONEY = {"type": "scaled_float", "scaling_factor": 100}
MAPPINGS = {"dynamic": "strict", "properties": {
    "order_number": {"type": "keyword"}, "customer_id": {"type": "keyword"},
    "customer_segment": {"type": "keyword"}, "status": {"type": "keyword"},
    "subtotal": MONEY, "tax_amount": MONEY, "shipping_amount": MONEY, "total_amount": MONEY,
    "item_count": {"type": "integer"}, "created_at": {"type": "date"}, "version": {"type": "integer"},
    "items": {"type": "nested", "properties": {
        "product_id": {"type": "keyword"}, "sku": {"type": "keyword"}, "name": {"type": "text"},
        "quantity": {"type": "integer"}, "unit_price": MONEY}},
}}
PRODUCT_MAPPINGS = {"dynamic": "strict", "properties": {"stock": {"type": "integer"}}}
SOURCE_FIELDS = ["status", "total_amount", "item_count", "customer_id", "customer_segment", "order_number"]


def plain_json(headers: Any) -> HttpHeaders:
    """The request's headers with plain application/json instead of the 'compatible-with=9' vendor media type.

    Elasticsearch accepts both; OpenSearch (and the osmem stand-in) answer 406 to the vendor type.
    """
    headers = HttpHeaders(headers or {})
    for name in ("accept", "content-type"):
        value = headers.get(name, "")
        if "vnd.elasticsearch+" in value:  # +json, or +x-ndjson for _bulk
            headers[name] = "application/x-ndjson" if "x-ndjson" in value else "application/json"
    return headers


class PlainJsonNode(AiohttpHttpNode):
    """The client's default aiohttp node, sending plain_json() headers."""

    async def perform_request(self, method, target, body=None, headers=None, **kwargs):  # type: ignore[override]
        return await super().perform_request(method, target, body=body, headers=plain_json(headers), **kwargs)


def _document(o: Order) -> dict[str, Any]:
    # Money goes in as strings: _source keeps them exactly; only aggregations see scaled floats.
    return {
        "order_number": o.order_number, "customer_id": o.customer_id, "customer_segment": o.customer_segment.value,
        "status": o.status.value, "subtotal": str(o.subtotal), "tax_amount": str(o.tax_amount),
        "shipping_amount": str(o.shipping_amount), "total_amount": str(o.total_amount),
        "item_count": len(o.items), "created_at": o.created_at.isoformat(timespec="milliseconds"),
        "items": [{"product_id": i.product_id, "sku": i.product_sku, "name": i.product_name,
                   "quantity": i.quantity, "unit_price": str(i.unit_price)} for i in o.items],
    }


def _record(order_id: str, src: dict[str, Any]) -> OrderRecord:
    total = src.get("total_amount")
    return OrderRecord(order_id, src.get("status"), Decimal(str(total)) if total is not None else None,
                       src.get("item_count"), src.get("customer_id"), src.get("customer_segment"),
                       src.get("order_number"))


@dataclass(frozen=True)
class ElasticOptions(StoreOptions):
    es_refresh: str = "false"  # refresh on write: false | wait_for | true


class ElasticStore(ElasticAnalytics, Store):
    name = "elastic"
    capabilities = frozenset({Capability.BATCH_WRITE, Capability.UPSERT, Capability.SEARCH_PATH,
                              Capability.STATUS_UPDATE, Capability.STOCK, Capability.CUSTOMER_LATEST,
                              Capability.TIME_RANGE, Capability.ANALYTICS})
    concurrency_control = ("optimistic: read with _seq_no, write back if_seq_no/if_primary_term, retry on 409; "
                           "a short product gives back the ones taken")
    Options = ElasticOptions
    options: ElasticOptions
    money_note = "scaled_float (aggregations are doubles)"

    es: AsyncElasticsearch
    _created = False

    @property
    def index(self) -> str:
        return f"{self.namespace}-orders"

    @property
    def products_index(self) -> str:
        return f"{self.namespace}-products"

    @property
    def indices(self) -> tuple[str, ...]:
        """Every index prepare creates: what a namespace marker must cover, so gc drops them all."""
        return self.index, self.products_index

    document = staticmethod(_document)  # an order as the JSON source it is indexed as (bench: _bulk input)

    async def connect(self) -> ServerInfo:
        plain = self.endpoint.settings.get("plain_json", True)
        node_class: type[AiohttpHttpNode] = PlainJsonNode if plain else AiohttpHttpNode
        self.es = AsyncElasticsearch(self.endpoint.url, node_class=node_class,
                                     connections_per_node=self.options.connections, request_timeout=30,
                                     **client_tls(self.endpoint))
        info = (await self.es.info()).body
        version = info.get("version", {})
        distribution = version.get("distribution")
        if distribution == "opensearch":
            emulator = " emulator (osmem)" if version.get("build_hash") == "osmem" else ""
            return ServerInfo("OpenSearch API" + emulator, version.get("number", "?"),
                              f"stand-in for Elasticsearch; cluster {info.get('cluster_name')}")
        return ServerInfo("Elasticsearch", version.get("number", "?"), f"cluster {info.get('cluster_name')}")

    async def server_stats(self) -> ServerStats:
        return await stats.snapshot(self.es, self.index)

    async def prepare(self, catalog: Catalog) -> None:
        try:
            await self.es.indices.create(index=self.index, mappings=MAPPINGS, settings={
                "number_of_shards": 1, "number_of_replicas": 0,
                # Explicit, so search-idle shards do not silently stop refreshing.
                "refresh_interval": "1s"})
        except BadRequestError as exc:
            if "already_exists" in str(exc.error):
                raise UsageError(f"Elasticsearch index {self.index} already exists; choose another run id") from None
            raise
        self._created = True
        await self.es.indices.create(index=self.products_index, mappings=PRODUCT_MAPPINGS,
                                     settings={"number_of_shards": 1, "number_of_replicas": 0})
        operations: list[dict[str, Any]] = []
        for p in catalog.products:
            operations += [{"index": {"_index": self.products_index, "_id": p.id}}, {"stock": p.inventory_count}]
        resp = await self.es.bulk(operations=operations, refresh=True)
        if resp.get("errors"):
            raise SandboxError(f"_bulk rejected products: {resp['items'][0]}")

    async def write(self, order: Order) -> None:
        await self.es.index(index=self.index, id=order.id, document=_document(order),
                            refresh=self.options.es_refresh)

    async def write_batch(self, orders: Sequence[Order]) -> None:
        operations: list[dict[str, Any]] = []
        for o in orders:
            operations += [{"index": {"_index": self.index, "_id": o.id}}, _document(o)]
        resp = await self.es.bulk(operations=operations, refresh=self.options.es_refresh)
        if resp.get("errors"):
            failed = [item["index"] for item in resp["items"] if item["index"].get("error")]
            raise SandboxError(f"_bulk rejected {len(failed)} of {len(orders)} orders: {failed[0]['error']}")

    async def upsert(self, order: Order, version: int) -> bool:
        # External versioning: the index is refused (409) unless the version is newer than the stored one.
        try:
            await self.es.index(index=self.index, id=order.id, document=_document(order), version=version,
                                version_type="external", refresh=self.options.es_refresh)
        except ConflictError:
            return False
        return True

    async def update_status(self, order_id: str, status: str, version: int) -> bool:
        # Optimistic concurrency: write back only if nobody wrote since the read (if_seq_no), else read again.
        while True:
            doc = await self.es.options(ignore_status=404).get(index=self.index, id=order_id)
            if not doc.get("found") or doc["_source"].get("version", 1) >= version:
                return False
            try:
                await self.es.index(index=self.index, id=order_id,
                                    document={**doc["_source"], "status": status, "version": version},
                                    if_seq_no=doc["_seq_no"], if_primary_term=doc["_primary_term"],
                                    refresh=self.options.es_refresh)
                return True
            except ConflictError:
                continue

    async def _add_stock(self, product_id: str, delta: int) -> bool:
        """Change one product's stock unless that takes it below zero (optimistic, retried on 409)."""
        while True:
            doc = await self.es.get(index=self.products_index, id=product_id)
            stock = doc["_source"]["stock"] + delta
            if stock < 0:
                return False
            try:
                await self.es.index(index=self.products_index, id=product_id, document={"stock": stock},
                                    if_seq_no=doc["_seq_no"], if_primary_term=doc["_primary_term"])
                return True
            except ConflictError:
                continue

    async def take_stock(self, items: Sequence[tuple[str, int]]) -> bool:
        taken: list[tuple[str, int]] = []
        for product_id, quantity in sorted(items):
            if not await self._add_stock(product_id, -quantity):
                for back_id, back in taken:  # one document per product: give back what was taken
                    await self._add_stock(back_id, back)
                return False
            taken.append((product_id, quantity))
        return True

    async def latest_orders(self, customer_id: str, n: int) -> list[str]:
        resp = await self.es.search(index=self.index, query={"term": {"customer_id": customer_id}},
                                    sort=[{"created_at": "desc"}], size=n, source=False)
        return [h["_id"] for h in resp["hits"]["hits"]]

    async def orders_between(self, start: datetime, end: datetime, limit: int) -> list[str]:
        window = {"gte": start.isoformat(timespec="milliseconds"), "lt": end.isoformat(timespec="milliseconds")}
        resp = await self.es.search(index=self.index, query={"range": {"created_at": window}},
                                    sort=[{"created_at": "asc"}], size=limit, source=False)
        return [h["_id"] for h in resp["hits"]["hits"]]

    async def order_states(self, order_ids: Sequence[str]) -> dict[str, tuple[str, int]]:
        resp = await self.es.mget(index=self.index, ids=list(order_ids), source_includes=["status", "version"])
        return {d["_id"]: (d["_source"]["status"], d["_source"].get("version", 1))
                for d in resp["docs"] if d.get("found")}

    async def stock_levels(self, product_ids: Sequence[str]) -> dict[str, int]:
        resp = await self.es.mget(index=self.products_index, ids=list(product_ids))
        return {d["_id"]: d["_source"]["stock"] for d in resp["docs"] if d.get("found")}

    async def read(self, order_id: str) -> OrderRecord | None:
        resp = await self.es.options(ignore_status=404).get(index=self.index, id=order_id,
                                                             source_includes=SOURCE_FIELDS)
        return _record(order_id, resp["_source"]) if resp.get("found") else None

    async def visible(self, order_id: str) -> bool:
        # A search, which sees only refreshed segments (a GET by id is realtime and would hide the lag).
        resp = await self.es.search(index=self.index, query={"ids": {"values": [order_id]}}, size=0,
                                    track_total_hits=True)
        return bool(resp["hits"]["total"]["value"])

    async def scan(self) -> AsyncIterator[OrderRecord]:
        if not await self.es.indices.exists(index=self.index):
            return  # the index is gone (an in-memory server restarted): it holds no orders
        await self.es.indices.refresh(index=self.index)
        async for hit in async_scan(self.es, index=self.index, query={"query": {"match_all": {}}},
                                    _source=SOURCE_FIELDS, size=2000):
            yield _record(hit["_id"], hit["_source"])

    async def aggregates(self) -> dict[str, StatusTotal]:
        await self.es.indices.refresh(index=self.index)
        resp = await self.es.search(index=self.index, size=0, aggs={
            "by_status": {"terms": {"field": "status", "size": 50},
                          "aggs": {"revenue": {"sum": {"field": "total_amount"}}}}})
        return {b["key"]: StatusTotal(b["doc_count"], Decimal(repr(b["revenue"]["value"])))
                for b in resp["aggregations"]["by_status"]["buckets"]}

    async def teardown(self) -> None:
        if self._created:
            # ignore 404: an in-memory server that restarted has already lost the index
            await self.es.options(ignore_status=404).indices.delete(index=self.index)
            # and the index a reindex migration (migrations/0002) may have left
            await self.es.options(ignore_status=404).indices.delete(index=f"{self.index}-v2")
            await self.es.options(ignore_status=404).indices.delete(index=self.products_index)
            self._created = False

    async def close(self) -> None:
        if hasattr(self, "es"):
            await self.es.close()

    def describe(self) -> str:
        return "one document per order, strict mapping, nested items, scaled_float money"
