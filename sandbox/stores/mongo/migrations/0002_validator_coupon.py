"""collMod: a stricter $jsonSchema validator (an optional coupon code must be a short string), at validation
level moderate so documents already stored that do not match are left alone; down restores the design's."""

from typing import Any

from sandbox.stores.mongo.model_store import MongoModelStore

TABLE = "orders"


def design_validator(store: MongoModelStore) -> dict[str, Any]:
    return dict(store.design.collections[store.model.root].validator)


def stricter(store: MongoModelStore) -> dict[str, Any]:
    validator = design_validator(store)
    schema: dict[str, Any] = dict(validator["$jsonSchema"])
    schema["properties"] = {**schema["properties"], "coupon": {"bsonType": "string", "maxLength": 20}}
    return {**validator, "$jsonSchema": schema}


def _name(store: MongoModelStore) -> str:
    return store.design.collections[store.model.root].name


async def up(store: MongoModelStore) -> None:
    await store.client[store.namespace].command("collMod", _name(store), validator=stricter(store),
                                                validationLevel="moderate")


async def down(store: MongoModelStore) -> None:
    await store.client[store.namespace].command("collMod", _name(store), validator=design_validator(store),
                                                validationLevel="strict")
