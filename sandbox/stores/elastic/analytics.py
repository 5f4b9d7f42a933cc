"""The analytics query set as Elasticsearch aggregations (money is scaled_float: sums are doubles)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from elasticsearch import AsyncElasticsearch
from elasticsearch.helpers import async_scan

from sandbox.stores.analytics import Analytics, Answer, Query, QueryParams, hour_key
from sandbox.workload.model import Catalog


def _money(value: float) -> Decimal:
    return Decimal(repr(value))


class ElasticAnalytics(Analytics):
    es: AsyncElasticsearch

    @property
    def index(self) -> str:
        raise NotImplementedError  # the adapter's

    async def prepare_analytics(self, catalog: Catalog) -> list[str]:
        # Every mapped keyword, date and numeric field is indexed (and has doc values) already.
        await self.es.indices.refresh(index=self.index)
        return ["none beyond the mapping: keyword, date and scaled_float fields are indexed with doc values"]

    async def _aggs(self, aggs: dict[str, Any], query: dict[str, Any] | None = None) -> dict[str, Any]:
        resp = await self.es.search(index=self.index, size=0, aggs=aggs, query=query or {"match_all": {}})
        return resp["aggregations"]

    async def answer(self, query: Query, params: QueryParams) -> Answer:
        customers = len(params.catalog.customers)
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
                           async for hit in async_scan(self.es, index=self.index, query={"query": window},
                                                       _source=["total_amount"], size=2000)})
        products = len(params.catalog.products)
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
