"""MongoDB (PyMongo's AsyncMongoClient): one document per order, items embedded, Decimal128 money."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from bson.decimal128 import Decimal128
from pymongo import ASCENDING, AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError
from pymongo.write_concern import WriteConcern

from sandbox.errors import UsageError
from sandbox.stores.base import Capability, ServerInfo, StatusTotal, Store, StoreOptions
from sandbox.stores.mongo import stats
from sandbox.stores.server_stats import ServerStats
from sandbox.workload.model import Catalog, Order, OrderRecord, OrderStatus

WRITE_CONCERNS = {
    "default": None,
    "w1": WriteConcern(w=1),
    "w1j": WriteConcern(w=1, j=True),
    "majority": WriteConcern(w="majority"),
    "majorityj": WriteConcern(w="majority", j=True),
}

MONEY = {"bsonType": "decimal"}
VALIDATOR = {"$jsonSchema": {
    "bsonType": "object",
    "required": ["order_number", "customer", "status", "items", "subtotal", "tax_amount", "shipping_amount",
                 "total_amount", "created_at"],
    "properties": {
        "order_number": {"bsonType": "string"},
        "customer": {"bsonType": "object", "required": ["id", "segment"]},
        "status": {"enum": [s.value for s in OrderStatus]},
        "items": {"bsonType": "array", "minItems": 1, "items": {
            "bsonType": "object", "required": ["product_id", "quantity", "unit_price"],
            "properties": {"quantity": {"bsonType": "int", "minimum": 1}, "unit_price": MONEY}}},
        "subtotal": MONEY, "tax_amount": MONEY, "shipping_amount": MONEY, "total_amount": MONEY,
        "created_at": {"bsonType": "date"},
    },
}}

PROJECTION = {"status": 1, "total_amount": 1, "item_count": {"$size": "$items"}, "customer": 1, "order_number": 1}


def server_info(build_info: dict[str, Any], concern: str) -> ServerInfo:
    """Who answered buildInfo: the stand-in reports a MongoDB version too; buildInfo.secantusVersion gives it away."""
    if "secantusVersion" in build_info:
        return ServerInfo("SecantusDB", str(build_info["secantusVersion"]),
                          f"MongoDB {build_info.get('version')} wire stand-in; {concern}")
    return ServerInfo("MongoDB", str(build_info.get("version")), concern)


def _document(o: Order) -> dict[str, Any]:
    return {
        "_id": o.id, "order_number": o.order_number,
        "customer": {"id": o.customer_id, "segment": o.customer_segment.value,
                     "billing_address_id": o.billing_address_id, "shipping_address_id": o.shipping_address_id},
        "status": o.status.value,
        "items": [{"product_id": i.product_id, "sku": i.product_sku, "name": i.product_name,
                   "quantity": i.quantity, "unit_price": Decimal128(i.unit_price),
                   "total_price": Decimal128(i.total_price)} for i in o.items],
        "subtotal": Decimal128(o.subtotal), "tax_amount": Decimal128(o.tax_amount),
        "shipping_amount": Decimal128(o.shipping_amount), "total_amount": Decimal128(o.total_amount),
        "created_at": o.created_at,
    }


def _record(doc: dict[str, Any]) -> OrderRecord:
    customer = doc.get("customer") or {}
    total = doc.get("total_amount")
    return OrderRecord(doc["_id"], doc.get("status"), total.to_decimal() if total is not None else None,
                       doc.get("item_count"), customer.get("id"), customer.get("segment"), doc.get("order_number"))


@dataclass(frozen=True)
class MongoOptions(StoreOptions):
    mongo_write_concern: str = "default"  # default | w1 | majority | w1j (w:1, j:true) | majorityj


class MongoStore(Store):
    name = "mongo"
    capabilities = frozenset({Capability.BATCH_WRITE, Capability.UPSERT, Capability.STATUS_UPDATE, Capability.STOCK,
                              Capability.CUSTOMER_LATEST, Capability.TIME_RANGE, Capability.REPLICAS})
    concurrency_control = ("update_one with a filter (version < new; $inc where stock >= quantity); "
                           "a short product gives back the ones taken")
    Options = MongoOptions
    options: MongoOptions

    client: AsyncMongoClient
    orders: AsyncCollection
    stock: AsyncCollection
    _created = False

    document = staticmethod(_document)  # an order as the BSON document it is inserted as (bench: client choice)

    async def connect(self) -> ServerInfo:
        self.client = AsyncMongoClient(self.endpoint.url, maxPoolSize=self.options.connections,
                                       serverSelectionTimeoutMS=5000, tz_aware=True)
        info = await self.client.admin.command("buildInfo")
        wc = WRITE_CONCERNS.get(self.options.mongo_write_concern)
        if self.options.mongo_write_concern not in WRITE_CONCERNS:
            raise UsageError(f"unknown MongoDB write concern {self.options.mongo_write_concern!r}: "
                             f"choose from {', '.join(WRITE_CONCERNS)}")
        self.orders = self.client[self.namespace].get_collection("orders", write_concern=wc)
        # Stock in a collection of its own: "products" belongs to the analytics query set.
        self.stock = self.client[self.namespace].get_collection("stock", write_concern=wc)
        return server_info(info, f"write concern {self.options.mongo_write_concern}")

    async def server_stats(self) -> ServerStats:
        return await stats.snapshot(self.client, self.namespace)

    async def prepare(self, catalog: Catalog) -> None:
        if self.namespace in await self.client.list_database_names():
            raise UsageError(f"MongoDB database {self.namespace} already exists; choose another run id")
        db = self.client[self.namespace]
        await db.create_collection("orders", validator=VALIDATOR)
        self._created = True
        await self.orders.create_index("order_number", unique=True)
        await self.orders.create_index([("customer.id", ASCENDING), ("created_at", ASCENDING)])
        await self.orders.create_index("status")
        await self.orders.create_index("created_at")
        await self.stock.insert_many([{"_id": p.id, "stock": p.inventory_count} for p in catalog.products])

    async def write(self, order: Order) -> None:
        await self.orders.insert_one(_document(order))

    async def write_batch(self, orders: Sequence[Order]) -> None:
        await self.orders.insert_many([_document(o) for o in orders], ordered=False)

    async def upsert(self, order: Order, version: int) -> bool:
        # The filter only matches an older version; if a newer or equal one exists, the upsert's
        # insert collides on _id (E11000): that is "already applied", not an error.
        doc = _document(order)
        del doc["_id"]
        try:
            await self.orders.update_one({"_id": order.id, "version": {"$lt": version}},
                                         {"$set": {**doc, "version": version}}, upsert=True)
        except DuplicateKeyError:
            return False
        return True

    async def update_status(self, order_id: str, status: str, version: int) -> bool:
        # One document, one filtered update: atomic. An order inserted without a version is version 1.
        result = await self.orders.update_one({"_id": order_id, "version": {"$not": {"$gte": version}}},
                                              {"$set": {"status": status, "version": version}})
        return result.modified_count == 1

    async def take_stock(self, items: Sequence[tuple[str, int]]) -> bool:
        # $inc with a filter takes one product's stock only while enough is left, atomically. Products are
        # separate documents: when one is short, the ones already taken are given back.
        taken: list[tuple[str, int]] = []
        for product_id, quantity in sorted(items):
            result = await self.stock.update_one({"_id": product_id, "stock": {"$gte": quantity}},
                                                    {"$inc": {"stock": -quantity}})
            if result.modified_count != 1:
                for back_id, back in taken:
                    await self.stock.update_one({"_id": back_id}, {"$inc": {"stock": back}})
                return False
            taken.append((product_id, quantity))
        return True

    async def latest_orders(self, customer_id: str, n: int) -> list[str]:
        cursor = self.orders.find({"customer.id": customer_id}, {"_id": 1}).sort("created_at", -1).limit(n)
        return [doc["_id"] async for doc in cursor]

    async def orders_between(self, start: datetime, end: datetime, limit: int) -> list[str]:
        cursor = self.orders.find({"created_at": {"$gte": start, "$lt": end}}, {"_id": 1}).sort("created_at", 1)
        return [doc["_id"] async for doc in cursor.limit(limit)]

    async def order_states(self, order_ids: Sequence[str]) -> dict[str, tuple[str, int]]:
        cursor = self.orders.find({"_id": {"$in": list(order_ids)}}, {"status": 1, "version": 1})
        return {doc["_id"]: (doc["status"], doc.get("version", 1)) async for doc in cursor}

    async def stock_levels(self, product_ids: Sequence[str]) -> dict[str, int]:
        return {doc["_id"]: doc["stock"] async for doc in self.stock.find({"_id": {"$in": list(product_ids)}})}

    async def read(self, order_id: str) -> OrderRecord | None:
        doc = await self.orders.find_one({"_id": order_id}, PROJECTION)
        return None if doc is None else _record(doc)

    async def scan(self) -> AsyncIterator[OrderRecord]:
        async for doc in self.orders.find({}, PROJECTION, batch_size=2000):
            yield _record(doc)

    async def aggregates(self) -> dict[str, StatusTotal]:
        pipeline = [{"$group": {"_id": "$status", "count": {"$sum": 1}, "revenue": {"$sum": "$total_amount"}}}]
        out = {}
        async for row in await self.orders.aggregate(pipeline):
            revenue = row["revenue"]
            out[row["_id"]] = StatusTotal(row["count"], revenue.to_decimal() if isinstance(revenue, Decimal128)
                                          else Decimal(repr(revenue)))
        return out

    async def teardown(self) -> None:
        if self._created:
            await self.client.drop_database(self.namespace)
            self._created = False

    async def close(self) -> None:
        if hasattr(self, "client"):
            await self.client.close()

    def describe(self) -> str:
        return "one document per order, items embedded, Decimal128 money, $jsonSchema validator"
