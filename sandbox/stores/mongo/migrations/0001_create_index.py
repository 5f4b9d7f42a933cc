"""createIndex on orders (status, created_at): built while writes go on (MongoDB 4.2+ takes the exclusive lock
only at the start and the end of the build)."""

from sandbox.stores.mongo.migrations import orders
from sandbox.stores.mongo.model_store import MongoModelStore

TABLE = "orders"


async def up(store: MongoModelStore) -> None:
    await orders(store).create_index([("status", 1), ("created_at", -1)], name="status_recent")


async def down(store: MongoModelStore) -> None:
    await orders(store).drop_index("status_recent")
