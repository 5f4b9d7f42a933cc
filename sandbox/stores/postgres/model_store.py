"""PostgreSQL holding a domain model (stores/contract.py): the normalized design (mapping.py) by default, the
JSONB one (jsonb.py) as the variant `postgres:jsonb`; one schema per run.

Connections come from an asyncpg pool that does not reset a connection when it is released: asyncpg's
default reset sends `SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL` on every release,
a round trip per operation (issue 22: 9.8k vs 7.0k one-row inserts/s here). Nothing here leaves session
state behind to reset: no SET, LISTEN, advisory lock or open cursor outlives a call (scan's cursor lives in
its transaction), synchronous_commit is given once per connection as a startup setting, and a connection
released inside a transaction is still rolled back by the pool. Statements are prepared once per
connection (asyncpg's statement cache) and sent with their parameters: one round trip per call.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

import asyncpg

from sandbox.config import Endpoint
from sandbox.errors import UsageError
from sandbox.stores.contract import (
    Answerer,
    FootprintReading,
    IndexUse,
    Kept,
    NamespaceExists,
    NotAnswerable,
    Params,
    Record,
    ServerInfo,
)
from sandbox.stores.postgres import footprint, indexes, stats
from sandbox.stores.postgres.analytics import PostgresAnalytics
from sandbox.stores.postgres.isolation import PostgresTransactions
from sandbox.stores.postgres.mapping import Design, derive
from sandbox.stores.postgres.patterns import Layout, Patterns, possible_key
from sandbox.stores.postgres.rows import Rows
from sandbox.stores.server_stats import ServerStats
from sandbox.workload.dataset import Dataset, Instance
from sandbox.workload.schema import Model, Pattern

DESIGNS = ("normalized", "jsonb")  # the normalized one hash-partitioned: design options partitions, partition_by


async def _keep(conn: asyncpg.Connection) -> None:
    """The pool's reset: nothing to undo (see the module docstring)."""


class PostgresModelBase(PostgresAnalytics):
    """What both designs share: the pool, the schema's life, the patterns, and the source of truth's transactions
    and notifications (contract.TransactionalSource: the write strategies commit a root instance and their own
    rows in one transaction; their relays and projections LISTEN)."""

    money = "exact decimal"
    errors = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError)  # PostgreSQL itself failed
    design: str
    layout: Layout

    def __init__(self, endpoint: Endpoint, namespace: str, model: Model, options: Mapping[str, Any]):
        self.endpoint, self.namespace, self.model = endpoint, namespace, model
        self.name = "postgres"
        self.connections = int(options.get("connections", 8))
        self.synchronous_commit = options.get("postgres_synchronous_commit")
        self.pool: asyncpg.Pool
        self._created = False
        self._patterns = Patterns(model, self.layout, self)  # type: ignore[arg-type]  # a subclass is a Store

    async def connect(self) -> ServerInfo:
        settings = {"synchronous_commit": self.synchronous_commit} if self.synchronous_commit else None
        self.pool = await asyncpg.create_pool(self.endpoint.url, min_size=1, max_size=self.connections,
                                              server_settings=settings, reset=_keep)
        version = await self.pool.fetchval("SHOW server_version")
        number, _, build = version.partition(" ")
        return ServerInfo("PostgreSQL", number, build.strip("()"))

    async def server_stats(self) -> ServerStats:
        """What the server counts of its own work (stats.py), for the run's server statistics."""
        root = self.layout.table_name(self.model.root).rpartition(".")[2].strip('"')
        return await stats.snapshot(self.pool, self.namespace, root)

    async def server_settings(self) -> dict[str, str]:
        return {name: await self.pool.fetchval(f"SHOW {name}") for name in ("fsync", "synchronous_commit")}

    async def footprint(self) -> FootprintReading:
        """The schema's tables, TOAST, indexes and the WAL position (footprint.py): contract.Footprint."""
        return await footprint.footprint(self.pool, self.namespace, self.compressible())

    def compressible(self) -> list[tuple[str, str, str]]:
        """Columns whose compressed values the footprint counts: (qualified table, name, column)."""
        return []

    usage_source = indexes.SOURCE

    def pattern_indexes(self) -> dict[str, tuple[str, ...]]:
        """contract.IndexCost: the design's indexes that serve access patterns (indexes.py)."""
        return indexes.served(indexes.droppable(self.layout.indexes))

    async def index_usage(self) -> list[IndexUse]:
        return await indexes.usage(self.pool, self.namespace, self.connections)

    async def drop_index(self, name: str) -> None:
        await self.pool.execute(f"DROP INDEX {self.schema}.{indexes.droppable(self.layout.indexes)[name].name}")

    async def restore_index(self, name: str) -> None:
        await self.pool.execute(indexes.droppable(self.layout.indexes)[name].ddl())

    def ddl(self) -> list[str]:
        raise NotImplementedError

    def copies(self, data: Dataset) -> list[tuple[str, tuple[str, ...], list[tuple]]]:
        """The reference data as (table, columns, records) for COPY, referenced tables first."""
        raise NotImplementedError

    async def prepare(self, data: Dataset) -> None:
        # One transaction: the schema, its tables and the reference data appear together or not at all.
        async with self.pool.acquire() as conn, conn.transaction():
            try:
                await conn.execute(f"CREATE SCHEMA {self.schema}")
            except asyncpg.DuplicateSchemaError:
                raise NamespaceExists(f"PostgreSQL schema {self.namespace} already exists; choose another run id") \
                    from None
            await conn.execute(";\n".join(self.ddl()))
            for table, columns, records in self.copies(data):
                await conn.copy_records_to_table(table, schema_name=self.namespace, columns=columns, records=records)
        self._created = True

    @property
    def schema(self) -> str:
        return '"' + self.namespace.replace('"', '""') + '"'

    def answer(self, pattern: Pattern) -> Answerer | NotAnswerable:
        return self._patterns.answer(pattern)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[asyncpg.Connection]:
        """A pooled connection in a transaction: commits at the end of the block, rolls back if it raises (the
        caller's statements leave no session state, as everything else on this pool: see the module docstring)."""
        async with self.pool.acquire() as conn, conn.transaction():
            yield conn

    async def write_in(self, tx: Any, instance: Instance, version: int | None = None) -> bool:
        raise NotImplementedError

    def _no_version(self) -> UsageError:
        return UsageError(f"{self.model.root} has no version field in model {self.model.name}: nothing gates an "
                          "upsert; declare one (version = true) to upsert")

    async def listen(self, channel: str, wake: Callable[[], None]) -> Callable[[], Awaitable[None]]:
        # A connection of its own: LISTEN is session state, which the pool's connections never keep.
        conn = await asyncpg.connect(self.endpoint.url)
        await conn.add_listener(channel, lambda *_: wake())
        return conn.close

    def transactions(self) -> PostgresTransactions:
        """contract.TransactionalWorkload: the isolation experiment's transactions on this pool."""
        return PostgresTransactions(self.pool, self.namespace)

    async def teardown(self) -> None:
        if self._created:
            await self.pool.execute(f"DROP SCHEMA {self.schema} CASCADE")
            self._created = False

    async def close(self) -> None:
        if hasattr(self, "pool"):
            await self.pool.close()

    async def _scan(self, sql: str, decode: Any) -> AsyncIterator[Record]:
        async with self.pool.acquire() as conn, conn.transaction():
            async for row in conn.cursor(sql, prefetch=2000):
                yield decode(row)


class NormalizedStore(PostgresModelBase):
    design = "normalized"

    def __init__(self, endpoint: Endpoint, namespace: str, model: Model, options: Mapping[str, Any]):
        self.tables: Design = derive(model, namespace, options)
        self.layout = self.tables
        super().__init__(endpoint, namespace, model, options)
        self.rows = Rows(self.tables)
        self._insert, self._batch = self.rows.insert_sql(), self.rows.batch_sql()
        self._readers = {name: (self.rows.select_sql(name) + f" WHERE r.{self.tables.key_of(name).q} = $1",
                                self.rows.reader(name)) for name, t in self.tables.tables.items() if t.owner is None}

    def ddl(self) -> list[str]:
        return self.tables.ddl()

    def describe(self) -> str:
        return self.tables.describe()

    def kept(self, entity: str) -> Kept:
        t = self.tables.table(entity)
        return Kept(tuple(c.name for c in t.columns if c.field is not None),
                    {k.collection or "": tuple(c.name for c in k.columns if c.field is not None)
                     for k in self.tables.children(entity)})

    def copies(self, data: Dataset) -> list[tuple[str, tuple[str, ...], list[tuple]]]:
        out = []
        for t in self.tables.tables.values():
            entity = t.owner or t.entity
            if self.model.entity(entity).role == "reference":
                out.append((t.plain, tuple(c.name for c in t.columns), self.rows.copy_rows(data.reference[entity], t)))
        return out

    async def write(self, instance: Instance) -> None:
        await self.pool.execute(self._insert, *self.rows.insert_args(instance))

    async def write_in(self, tx: Any, instance: Instance, version: int | None = None) -> bool:
        if version is not None:
            raise self._no_version()
        await tx.execute(self._insert, *self.rows.insert_args(instance))
        return True

    async def write_batch(self, instances: Sequence[Instance]) -> None:
        await self.pool.execute(self._batch, *self.rows.batch_args(instances))

    async def read(self, entity: str, key: Any) -> Record | None:
        sql, decode = self._readers[entity]
        if not possible_key(self.tables.key_of(entity), key):
            return None
        row = await self.pool.fetchrow(sql, key)
        return None if row is None else decode(row)

    def scan(self, entity: str) -> AsyncIterator[Record]:
        return self._scan(self.rows.select_sql(entity), self.rows.reader(entity))

    def getter(self, p: Pattern) -> Answerer:
        sql = self.rows.select_sql(p.entity, p.include) + f" WHERE r.{self.tables.key_of(p.entity).q} = $1"
        decode, key = self.rows.reader(p.entity, p.include), self.tables.key_of(p.entity)

        async def get(params: Params) -> Record | None:
            if not possible_key(key, params.key):
                return None
            row = await self.pool.fetchrow(sql, params.key)
            return None if row is None else decode(row)

        return get


class NormalizedUpsertStore(NormalizedStore):
    """The normalized design of a root with a version field: upserts gated by it (relays deliver at least once)."""

    def __init__(self, endpoint: Endpoint, namespace: str, model: Model, options: Mapping[str, Any]):
        super().__init__(endpoint, namespace, model, options)
        version = model.root_entity.version_field
        assert version is not None
        self._upsert = self.rows.insert_sql(upsert=version.name)
        self._version_at = [c.name for c in self.rows.root.columns].index(version.name)

    async def upsert(self, instance: Instance, version: int) -> bool:
        return await self._upsert_on(self.pool, instance, version)

    async def write_in(self, tx: Any, instance: Instance, version: int | None = None) -> bool:
        if version is None:
            return await super().write_in(tx, instance)
        return await self._upsert_on(tx, instance, version)

    async def _upsert_on(self, on: Any, instance: Instance, version: int) -> bool:
        args = self.rows.insert_args(instance)
        args[self._version_at] = version
        return bool(await on.fetchval(self._upsert, *args))
