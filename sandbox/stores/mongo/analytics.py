"""The analytics query set as MongoDB aggregation pipelines (money stays Decimal128: exact sums)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from bson.decimal128 import Decimal128
from pymongo import ASCENDING, DESCENDING, AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection

from sandbox.stores.analytics import Analytics, Answer, Query, QueryParams, hour_key
from sandbox.workload.model import Catalog


def _money(value: Any) -> Decimal:
    return value.to_decimal() if isinstance(value, Decimal128) else Decimal(repr(value))


class MongoAnalytics(Analytics):
    client: AsyncMongoClient
    orders: AsyncCollection
    namespace: str

    async def prepare_analytics(self, catalog: Catalog) -> list[str]:
        await self.orders.create_index("created_at")
        # The product dimension, so the category rollup can $lookup it in the server.
        await self.client[self.namespace]["products"].insert_many(
            [{"_id": p.id, "category_id": p.category_id} for p in catalog.products])
        return ["orders {created_at: 1}", "orders {customer.id: 1, created_at: 1} [schema]",
                "products collection (_id -> category_id) for $lookup"]

    async def _aggregate(self, pipeline: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [doc async for doc in await self.orders.aggregate(pipeline)]

    async def answer(self, query: Query, params: QueryParams) -> Answer:
        if query is Query.REVENUE_BY_HOUR:
            rows = await self._aggregate([{"$group": {
                "_id": {"hour": {"$dateTrunc": {"date": "$created_at", "unit": "hour"}}, "status": "$status"},
                "count": {"$sum": 1}, "revenue": {"$sum": "$total_amount"}}}])
            return Answer({(hour_key(r["_id"]["hour"]), r["_id"]["status"]): (r["count"], _money(r["revenue"]))
                           for r in rows})
        if query is Query.TOP_CUSTOMERS:
            rows = await self._aggregate([
                {"$group": {"_id": "$customer.id", "revenue": {"$sum": "$total_amount"}}},
                {"$sort": {"revenue": DESCENDING, "_id": ASCENDING}}, {"$limit": params.top}])
            return Answer.of([((r["_id"],), (_money(r["revenue"]),)) for r in rows], ranked=True)
        if query is Query.LATEST_ORDER:
            rows = await self._aggregate([
                {"$sort": {"customer.id": ASCENDING, "created_at": DESCENDING}},
                {"$group": {"_id": "$customer.id", "order": {"$first": "$_id"}}}])
            return Answer({(r["_id"],): (r["order"],) for r in rows})
        if query is Query.ORDERS_ABOVE:
            cursor = self.orders.find({"created_at": {"$gte": params.window_start, "$lt": params.window_end},
                                       "total_amount": {"$gt": Decimal128(params.min_total)}}, {"total_amount": 1})
            return Answer({(d["_id"],): (_money(d["total_amount"]),) async for d in cursor})
        rows = await self._aggregate([
            {"$unwind": "$items"},
            {"$group": {"_id": "$items.product_id", "quantity": {"$sum": "$items.quantity"}}},
            {"$lookup": {"from": "products", "localField": "_id", "foreignField": "_id", "as": "product"}},
            {"$unwind": "$product"},
            {"$group": {"_id": "$product.category_id", "quantity": {"$sum": "$quantity"}}}])
        return Answer({(r["_id"],): (int(r["quantity"]),) for r in rows})
