"""MongoDB migrations: `async def up(store)` / `down(store)` per file, on the orders model's collection `orders`
(the model store's `collection("order")`). The version is a document in the run's database
(`schema_migrations`), written once the change has succeeded."""

from __future__ import annotations

from typing import Any

from sandbox.errors import UsageError
from sandbox.stores.migrations import Direction, Migration, MigrationKit
from sandbox.stores.mongo.model_store import MongoModelStore


def orders(store: MongoModelStore) -> Any:
    """The orders collection of the design."""
    return store.collection(store.model.root)


class MongoKit(MigrationKit):
    store: MongoModelStore

    def check(self) -> None:
        if self.store.model.name != "orders":
            raise UsageError(f"{self.store.name}: the MongoDB migrations change the orders model's collection "
                             f"(this store holds {self.store.model.name})")

    @property
    def _ledger(self) -> Any:
        return self.store.client[self.store.namespace]["schema_migrations"]

    async def exists(self) -> bool:
        return self.store.namespace in await self.store.client.list_database_names()

    async def current(self) -> int:
        doc = await self._ledger.find_one({"_id": "version"})
        return int(doc["version"]) if doc else 0

    async def apply(self, migration: Migration, direction: Direction, lock_timeout_ms: int | None = None) -> None:
        await (migration.module.up if direction == "up" else migration.module.down)(self.store)
        version = migration.version if direction == "up" else migration.version - 1
        await self._ledger.update_one({"_id": "version"}, {"$set": {"version": version}}, upsert=True)

    async def schema(self) -> dict[str, Any]:
        db = self.store.client[self.store.namespace]
        name = self.store.design.collections[self.store.model.root].name
        info = await (await db.list_collections(filter={"name": name})).to_list()
        indexes = await orders(self.store).index_information()
        # Servers differ in whether they list default options; compare with the defaults filled in.
        options = {"validationLevel": "strict", "validationAction": "error",
                   **(info[0].get("options", {}) if info else {})}
        return {"indexes": sorted([name, repr(sorted(spec.get("key", [])))] for name, spec in indexes.items()),
                "options": sorted([k, repr(v)] for k, v in options.items())}


KIT = MongoKit
