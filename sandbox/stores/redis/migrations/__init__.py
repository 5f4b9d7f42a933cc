"""Redis migrations: `async def up(store)` / `down(store)` per file, on the orders model's key layout
(`sandbox model show orders --store redis`). The version is a key under the run's prefix
(`<prefix>:schema_version`); Redis has no DDL, so a "schema" is the set of key shapes."""

from __future__ import annotations

import re
from typing import Any

from sandbox.errors import UsageError
from sandbox.stores.migrations import Direction, Migration, MigrationKit
from sandbox.stores.redis.keys import CLAIM
from sandbox.stores.redis.model_store import RedisModelStore

ID = re.compile(r"^[0-9a-f-]{8,}$")
VALUE = re.compile(r"=[^:]*")  # a where value in an index key (`orders:customer_id=<id>:by:created_at`)


class RedisKit(MigrationKit):
    store: RedisModelStore

    def check(self) -> None:
        if self.store.model.name != "orders":
            raise UsageError(f"{self.store.name}: the Redis migrations change the orders model's key layout "
                             f"(this store holds {self.store.model.name})")

    async def exists(self) -> bool:
        return bool(await self.store.client.exists(f"{self.store.namespace}:{CLAIM}"))

    async def current(self) -> int:
        return int(await self.store.client.get(f"{self.store.namespace}:schema_version") or 0)

    async def apply(self, migration: Migration, direction: Direction, lock_timeout_ms: int | None = None) -> None:
        await (migration.module.up if direction == "up" else migration.module.down)(self.store)
        version = migration.version if direction == "up" else migration.version - 1
        await self.store.client.set(f"{self.store.namespace}:schema_version", version)

    async def schema(self) -> dict[str, Any]:
        """Key shapes: each key with its ids and index values replaced by `*` (order:*, order:v2:*,
        orders:customer_id=*:by:created_at)."""
        shapes = set()
        async for key in self.store.client.scan_iter(match=f"{self.store.namespace}:*", count=1000):
            parts = key.split(":")[1:]
            if parts != ["schema_version"]:
                shapes.add(VALUE.sub("=*", ":".join("*" if ID.match(p) else p for p in parts)))
        return {"key_shapes": sorted(shapes)}


KIT = RedisKit
