"""The analytics query set as Elasticsearch aggregations on the orders model's design (`sandbox model show orders
--store elastic`): the index `<ns>-orders`, whose customer_id, status, created_at and total_amount its patterns
index (money is scaled_float: sums are doubles). The items are nested and indexed only when a pattern reads
them; in the orders model none does, so the category rollup is not answerable from that design."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from elasticsearch import AsyncElasticsearch
from elasticsearch.helpers import async_scan

from sandbox.stores.analytics import Answer, NotAnswerable, Query, QueryParams, hour_key
from sandbox.stores.elastic.mapping import ElasticDesign
from sandbox.workload.dataset import Dataset
from sandbox.workload.schema import Model


def _money(value: float) -> Decimal:
    return Decimal(repr(value))


class ElasticAnalytics:
    es: AsyncElasticsearch
    design: ElasticDesign
    model: Model

    @property
    def _index(self) -> str:
        return self.design.index(self.model.root)

    def _unindexed(self, *paths: str) -> list[str]:
        """Those of the (dotted) fields the design keeps in _source only (no index, no doc values)."""
        props = self.design.indices[self.model.root].mapping["properties"]
        out = []
        for path in paths:
            spec: dict[str, Any] = {"properties": props}
            for part in path.split("."):
                spec = spec.get("properties", {}).get(part, {})
            if not spec or spec.get("index") is False:
                out.append(path)
        return out

    async def prepare_analytics(self, data: Dataset) -> list[str]:
        # The questions run after the write phase: refresh so its documents are searchable.
        await self.es.indices.refresh(index=self._index)
        fields = ("customer_id", "status", "created_at", "total_amount", "items.product_id", "items.quantity")
        indexed = [f for f in fields if f not in self._unindexed(f)]
        return [f"none beyond the design's mapping: {', '.join(indexed)} indexed with doc values"]

    async def _aggs(self, aggs: dict[str, Any], query: dict[str, Any] | None = None) -> dict[str, Any]:
        resp = await self.es.search(index=self._index, size=0, aggs=aggs, query=query or {"match_all": {}})
        return resp["aggregations"]

    async def answer_question(self, query: Query, params: QueryParams) -> Answer:
        customers = len(params.customers)
        if query is Query.REVENUE_BY_HOUR:
            aggs = await self._aggs({"hour": {
                "date_histogram": {"field": "created_at", "fixed_interval": "1h", "min_doc_count": 1},
                "aggs": {"status": {"terms": {"field": "status", "size": 50},
                                    "aggs": {"revenue": {"sum": {"field": "total_amount"}}}}}}})
            return Answer({(hour_key(h["key"]), s["key"]): (s["doc_count"], _money(s["revenue"]["value"]))
                           for h in aggs["hour"]["buckets"] for s in h["status"]["buckets"]})
        if query is Query.TOP_CUSTOMERS:
            # One shard, so the terms counts are exact (doc_count_error_upper_bound 0).
            aggs = await self._aggs({"customer": {
                "terms": {"field": "customer_id", "size": params.top, "order": [{"revenue": "desc"}, {"_key": "asc"}]},
                "aggs": {"revenue": {"sum": {"field": "total_amount"}}}}})
            return Answer.of([((b["key"],), (_money(b["revenue"]["value"]),))
                              for b in aggs["customer"]["buckets"]], ranked=True)
        if query is Query.LATEST_ORDER:
            aggs = await self._aggs({"customer": {
                "terms": {"field": "customer_id", "size": customers},
                "aggs": {"latest": {"top_hits": {"size": 1, "sort": [{"created_at": "desc"}], "_source": False}}}}})
            return Answer({(b["key"],): (b["latest"]["hits"]["hits"][0]["_id"],) for b in aggs["customer"]["buckets"]})
        if query is Query.ORDERS_ABOVE:
            window = {"bool": {"filter": [
                {"range": {"created_at": {"gte": params.window_start.isoformat(),
                                          "lt": params.window_end.isoformat()}}},
                {"range": {"total_amount": {"gt": float(params.min_total)}}}]}}
            return Answer({(hit["_id"],): (Decimal(str(hit["_source"]["total_amount"])),)
                           async for hit in async_scan(self.es, index=self._index, query={"query": window},
                                                       _source=["total_amount"], size=2000)})
        if missing := self._unindexed("items.product_id", "items.quantity"):
            raise NotAnswerable(f"{' and '.join(missing)} are kept in _source only in this design (no index, no "
                                "doc values: no access pattern of the model reads them)")
        products = len(params.category_of)
        aggs = await self._aggs({"items": {"nested": {"path": "items"}, "aggs": {"product": {
            "terms": {"field": "items.product_id", "size": products},
            "aggs": {"quantity": {"sum": {"field": "items.quantity"}}}}}}})
        category_of = params.category_of
        sold: dict[tuple[str, ...], int] = {}
        for b in aggs["items"]["product"]["buckets"]:
            key = (category_of[b["key"]],)
            sold[key] = sold.get(key, 0) + int(b["quantity"]["value"])
        return Answer({k: (v,) for k, v in sold.items()},
                      how=f"per product in the server (nested terms); the {products} products rolled up to "
                          "categories from the catalog (no joins in Elasticsearch)")
