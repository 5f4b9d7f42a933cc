"""createIndex on orders (status, created_at): built while writes go on (MongoDB 4.2+ takes the exclusive lock
only at the start and the end of the build)."""

from sandbox.stores.mongo.adapter import MongoStore

TABLE = "orders"


async def up(store: MongoStore) -> None:
    await store.orders.create_index([("status", 1), ("created_at", -1)], name="status_recent")


async def down(store: MongoStore) -> None:
    await store.orders.drop_index("status_recent")
