"""The analytics query set as MongoDB aggregation pipelines on the orders model's design (`sandbox model show
orders --store mongo`): collection orders (`_id` the order id, customer_id, status, created_at, total_amount
as Decimal128: exact sums), the products collection of the reference data for the category rollup's
$lookup, and the items embedded in each order (or, `mongo:referenced`, in the order_items collection).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from bson.decimal128 import Decimal128
from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.collection import AsyncCollection

from sandbox.stores.analytics import Answer, Query, QueryParams, hour_key
from sandbox.stores.mongo.mapping import MongoDesign
from sandbox.workload.dataset import Dataset
from sandbox.workload.schema import Model


def _money(value: Any) -> Decimal:
    return value.to_decimal() if isinstance(value, Decimal128) else Decimal(repr(value))


class MongoAnalytics:
    design: MongoDesign
    model: Model

    def collection(self, entity: str) -> AsyncCollection:
        raise NotImplementedError  # the model store's

    @property
    def _orders(self) -> AsyncCollection:
        return self.collection(self.model.root)

    async def prepare_analytics(self, data: Dataset) -> list[str]:
        out = []
        for entity in (self.model.root, "product"):
            c = self.design.collections[entity]
            out += [f"{c.name} {ix.name} [design: {ix.why or 'key'}]" for ix in c.indexes]
        return [*out, f"{self.design.collections['product'].name} (_id -> category_id) for $lookup [reference data]"]

    async def _aggregate(self, collection: AsyncCollection, pipeline: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [doc async for doc in await collection.aggregate(pipeline)]

    async def answer_question(self, query: Query, params: QueryParams) -> Answer:
        orders = self._orders
        if query is Query.REVENUE_BY_HOUR:
            rows = await self._aggregate(orders, [{"$group": {
                "_id": {"hour": {"$dateTrunc": {"date": "$created_at", "unit": "hour"}}, "status": "$status"},
                "count": {"$sum": 1}, "revenue": {"$sum": "$total_amount"}}}])
            return Answer({(hour_key(r["_id"]["hour"]), r["_id"]["status"]): (r["count"], _money(r["revenue"]))
                           for r in rows})
        if query is Query.TOP_CUSTOMERS:
            rows = await self._aggregate(orders, [
                {"$group": {"_id": "$customer_id", "revenue": {"$sum": "$total_amount"}}},
                {"$sort": {"revenue": DESCENDING, "_id": ASCENDING}}, {"$limit": params.top}])
            return Answer.of([((r["_id"],), (_money(r["revenue"]),)) for r in rows], ranked=True)
        if query is Query.LATEST_ORDER:
            rows = await self._aggregate(orders, [
                {"$sort": {"customer_id": ASCENDING, "created_at": DESCENDING}},
                {"$group": {"_id": "$customer_id", "order": {"$first": "$_id"}}}])
            return Answer({(r["_id"],): (r["order"],) for r in rows})
        if query is Query.ORDERS_ABOVE:
            cursor = orders.find({"created_at": {"$gte": params.window_start, "$lt": params.window_end},
                                  "total_amount": {"$gt": Decimal128(params.min_total)}}, {"total_amount": 1})
            return Answer({(d["_id"],): (_money(d["total_amount"]),) async for d in cursor})
        products = self.design.collections["product"].name
        rollup: list[dict[str, Any]] = [
            {"$lookup": {"from": products, "localField": "_id", "foreignField": "_id", "as": "product"}},
            {"$unwind": "$product"},
            {"$group": {"_id": "$product.category_id", "quantity": {"$sum": "$quantity"}}}]
        if self.design.embedded:
            rows = await self._aggregate(orders, [
                {"$unwind": "$items"},
                {"$group": {"_id": "$items.product_id", "quantity": {"$sum": "$items.quantity"}}}, *rollup])
        else:
            rows = await self._aggregate(self.collection("order_item"), [
                {"$group": {"_id": "$product_id", "quantity": {"$sum": "$quantity"}}}, *rollup])
        return Answer({(r["_id"],): (int(r["quantity"]),) for r in rows})
