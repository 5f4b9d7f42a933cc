"""InfluxDB migrations (1.x InfluxQL): `async def up(store)` / `down(store)` per file. The version is a point in
the run's database (`schema_migrations`); the latest point wins. InfluxDB 2.x/3.x have no retention policy
statements (buckets carry a retention period): there the migrations fail and say so."""

from __future__ import annotations

from typing import Any

from sandbox.stores.influx.model_store import InfluxModelStore
from sandbox.stores.migrations import Direction, Migration, MigrationKit


class InfluxKit(MigrationKit):
    store: InfluxModelStore

    async def exists(self) -> bool:
        series = await self.store.query("SHOW DATABASES")
        return any(row[0] == self.store.namespace for s in series for row in s.get("values", []))

    async def current(self) -> int:
        series = await self.store.query('SELECT last("version") FROM "schema_migrations"')
        return int(series[0]["values"][0][1]) if series else 0

    async def apply(self, migration: Migration, direction: Direction, lock_timeout_ms: int | None = None) -> None:
        await (migration.module.up if direction == "up" else migration.module.down)(self.store)
        version = migration.version if direction == "up" else migration.version - 1
        await self.store.write_lines(f"schema_migrations version={version}i")

    async def schema(self) -> dict[str, Any]:
        series = await self.store.query(f'SHOW RETENTION POLICIES ON "{self.store.namespace}"')
        return {"retention_policies": [list(map(str, row)) for s in series for row in s.get("values", [])]}


KIT = InfluxKit
