"""Elasticsearch migrations: `async def up(store)` / `down(store)` per file, on the orders model's index
`<namespace>-orders`. The version is kept in its mapping `_meta.schema_version`; readers go through the alias
`<namespace>-read`."""

from __future__ import annotations

from typing import Any

from sandbox.errors import UsageError
from sandbox.stores.elastic.model_store import ElasticModelStore
from sandbox.stores.migrations import Direction, Migration, MigrationKit


def orders_index(store: ElasticModelStore) -> str:
    return store.design.index(store.model.root)


def read_alias(store: ElasticModelStore) -> str:
    return f"{store.namespace}-read"


def new_index(store: ElasticModelStore) -> str:
    return f"{orders_index(store)}-v2"


class ElasticKit(MigrationKit):
    store: ElasticModelStore

    def check(self) -> None:
        if self.store.model.name != "orders":
            raise UsageError(f"{self.store.name}: the Elasticsearch migrations change the orders model's index "
                             f"(this store holds {self.store.model.name})")

    @property
    def index(self) -> str:
        return orders_index(self.store)

    async def exists(self) -> bool:
        return bool(await self.store.es.indices.exists(index=self.index))

    async def current(self) -> int:
        mapping = (await self.store.es.indices.get_mapping(index=self.index)).body
        return int(mapping[self.index]["mappings"].get("_meta", {}).get("schema_version", 0))

    async def apply(self, migration: Migration, direction: Direction, lock_timeout_ms: int | None = None) -> None:
        await (migration.module.up if direction == "up" else migration.module.down)(self.store)
        version = migration.version if direction == "up" else migration.version - 1
        await self.store.es.indices.put_mapping(index=self.index, meta={"schema_version": version})

    async def schema(self) -> dict[str, Any]:
        es = self.store.es
        mapping = (await es.indices.get_mapping(index=self.index)).body[self.index]["mappings"]
        aliases = (await es.options(ignore_status=404).indices.get_alias(name=read_alias(self.store))).body
        return {"fields": sorted([k, repr(v)] for k, v in mapping.get("properties", {}).items()),
                "read_alias": sorted(k for k, v in aliases.items() if isinstance(v, dict) and "aliases" in v),
                "v2_index": [new_index(self.store)] if await es.indices.exists(index=new_index(self.store)) else []}


KIT = ElasticKit
