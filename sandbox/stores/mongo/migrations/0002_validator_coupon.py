"""collMod: a stricter $jsonSchema validator (an optional coupon code must be a short string), at validation
level moderate so documents already stored that do not match are left alone; down restores the original."""

from typing import Any

from sandbox.stores.mongo.adapter import VALIDATOR, MongoStore

TABLE = "orders"


def stricter() -> dict[str, Any]:
    schema: dict[str, Any] = dict(VALIDATOR["$jsonSchema"])
    schema["properties"] = {**schema["properties"], "coupon": {"bsonType": "string", "maxLength": 20}}
    return {"$jsonSchema": schema}


async def up(store: MongoStore) -> None:
    await store.client[store.namespace].command("collMod", "orders", validator=stricter(),
                                                validationLevel="moderate")


async def down(store: MongoStore) -> None:
    await store.client[store.namespace].command("collMod", "orders", validator=VALIDATOR, validationLevel="strict")
