"""A domain model on MongoDB (stores/contract.py ModelStore), with PyMongo's AsyncMongoClient.

The design (mapping.py) decides collections, validators and indexes; documents.py converts instances.
A single write is one command: `insert_one` of the aggregate (embedded design), or, referenced, one
multi-document transaction (insert_one, insert_many of the children, commitTransaction: three round
trips); a batch is one `insert_many` (referenced: one per collection, in one transaction). The client is
opened with retryWrites / retryReads off: the sandbox never retries (TimedStore sees every failure).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import UTC
from typing import Any

from pymongo import AsyncMongoClient, IndexModel
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError, CollectionInvalid, DuplicateKeyError
from pymongo.write_concern import WriteConcern

from sandbox.config import Endpoint
from sandbox.errors import SandboxError, UsageError
from sandbox.stores.contract import (
    Answerer,
    FootprintReading,
    IndexUse,
    Kept,
    NamespaceExists,
    NotAnswerable,
    Record,
    ServerInfo,
)
from sandbox.stores.mongo import footprint, indexes, stats
from sandbox.stores.mongo.analytics import MongoAnalytics
from sandbox.stores.mongo.client import WRITE_CONCERNS, server_info
from sandbox.stores.mongo.documents import Codec
from sandbox.stores.mongo.isolation import MongoTransactions
from sandbox.stores.mongo.mapping import POSITION, MongoDesign, derive
from sandbox.stores.mongo.patterns import answerer
from sandbox.stores.server_stats import ServerStats
from sandbox.workload.dataset import Dataset, Instance
from sandbox.workload.schema import Model, Pattern


class MongoModelStore(MongoAnalytics):
    money = "exact decimal (Decimal128)"

    def __init__(self, endpoint: Endpoint, namespace: str, model: Model, options: Mapping[str, Any]):
        self.name = "mongo"
        self.endpoint, self.namespace, self.model = endpoint, namespace, model
        self.design: MongoDesign = derive(model, options)
        self.connections = int(options.get("connections", 8))
        concern = str(options.get("mongo_write_concern", "default"))
        if concern not in WRITE_CONCERNS:
            raise UsageError(f"unknown MongoDB write concern {concern!r}: choose from {', '.join(WRITE_CONCERNS)}")
        self.concern_name = concern
        self.write_concern: WriteConcern | None = WRITE_CONCERNS[concern]
        self.codecs = {name: Codec(self.design, c.entity) for name, c in self.design.collections.items()}
        self._collections: dict[str, AsyncCollection] = {}
        self._created = False

    # --- connection -------------------------------------------------------------------------------------
    async def connect(self) -> ServerInfo:
        self.client: AsyncMongoClient = AsyncMongoClient(
            self.endpoint.url, maxPoolSize=self.connections, serverSelectionTimeoutMS=5000, tz_aware=True,
            tzinfo=UTC, retryWrites=False, retryReads=False)
        db = self.client[self.namespace]
        self._collections = {e: db.get_collection(c.name, write_concern=self.write_concern)
                             for e, c in self.design.collections.items()}
        self._by_name = {c.name: self._collections[e] for e, c in self.design.collections.items()}
        return server_info(await self.client.admin.command("buildInfo"), f"write concern {self.concern_name}")

    def collection(self, entity: str) -> AsyncCollection:
        return self._collections[entity]

    async def server_stats(self) -> ServerStats:
        return await stats.snapshot(self.client, self.namespace)

    usage_source = indexes.SOURCE

    def pattern_indexes(self) -> dict[str, tuple[str, ...]]:
        """contract.IndexCost: the design's indexes that serve access patterns (indexes.py)."""
        return indexes.served(self.design)

    async def index_usage(self) -> list[IndexUse]:
        return await indexes.usage(self.client[self.namespace], self.design)

    async def drop_index(self, name: str) -> None:
        entity, ix = indexes.droppable(self.design)[name]
        await self.collection(entity).drop_index(ix.name)

    async def restore_index(self, name: str) -> None:
        entity, ix = indexes.droppable(self.design)[name]
        await indexes.rebuild(self.collection(entity), ix)

    async def footprint(self) -> FootprintReading:
        """collStats of the run's collections (footprint.py): contract.Footprint."""
        return await footprint.footprint(self.client, self.namespace,
                                         [c.name for c in self.design.collections.values()])

    # --- namespace ----------------------------------------------------------------------------------------
    async def prepare(self, data: Dataset) -> None:
        if self.namespace in await self.client.list_database_names():
            raise NamespaceExists(f"MongoDB database {self.namespace} already exists; choose another run id")
        db = self.client[self.namespace]
        for entity, c in self.design.collections.items():
            try:
                await db.create_collection(c.name, validator=c.validator)
            except CollectionInvalid:  # created by another run between the check and here
                raise NamespaceExists(f"MongoDB collection {self.namespace}.{c.name} already exists") from None
            self._created = True
            if c.indexes:
                await self.collection(entity).create_indexes(
                    [IndexModel(list(ix.keys), unique=ix.unique, name=ix.name) for ix in c.indexes])
        for e in self.model.references:  # reference data: one insert_many per collection
            instances = data.reference[e.name]
            if instances:
                await self._insert_many(e.name, instances, ordered=True)

    def transactions(self) -> MongoTransactions:
        """contract.TransactionalWorkload: multi-document transactions on this client."""
        return MongoTransactions(self.client, self.namespace)

    async def teardown(self) -> None:
        if self._created:
            await self.client.drop_database(self.namespace)
            self._created = False

    async def close(self) -> None:
        if hasattr(self, "client"):
            await self.client.close()

    # --- writes -----------------------------------------------------------------------------------------
    async def write(self, instance: Instance) -> None:
        root = self.model.root
        codec = self.codecs[root]
        if self.design.embedded:
            await self.collection(root).insert_one(codec.encode(instance))
            return
        async with self.client.start_session() as session:
            await session.start_transaction(write_concern=self.write_concern)
            await self.collection(root).insert_one(codec.encode(instance), session=session)
            for collection, docs in codec.children_of(instance):
                if docs:
                    await self._child_collection(collection).insert_many(docs, session=session)
            await session.commit_transaction()

    async def write_batch(self, instances: Sequence[Instance]) -> None:
        if self.design.embedded:
            await self._insert_many(self.model.root, instances, ordered=False)
            return
        async with self.client.start_session() as session:
            await session.start_transaction(write_concern=self.write_concern)
            await self._insert_many(self.model.root, instances, ordered=False, session=session)
            await session.commit_transaction()

    async def _insert_many(self, entity: str, instances: Sequence[Instance], ordered: bool,
                           session: Any = None) -> None:
        """One insert_many of the entity's documents (referenced: and one per child collection, same session)."""
        codec = self.codecs[entity]
        try:
            await self.collection(entity).insert_many([codec.encode(i) for i in instances], ordered=ordered,
                                                      session=session)
            if not self.design.embedded:
                children: dict[str, list[dict[str, Any]]] = {}
                for inst in instances:
                    for collection, docs in codec.children_of(inst):
                        children.setdefault(collection, []).extend(docs)
                for collection, docs in children.items():
                    if docs:
                        await self._child_collection(collection).insert_many(docs, ordered=ordered, session=session)
        except BulkWriteError as exc:
            errors = exc.details.get("writeErrors", [])
            first = errors[0].get("errmsg", "") if errors else str(exc)
            written = " (the batch's transaction wrote none of them)" if session is not None else ""
            raise SandboxError(f"MongoDB refused {len(errors)} of {len(instances)} {entity} documents{written}: "
                               f"{first}"[:300]) from None

    def _child_collection(self, name: str) -> AsyncCollection:
        return self._by_name[name]

    async def upsert(self, instance: Instance, version: int) -> bool:
        root = self.model.root
        doc = self.codecs[root].encode(instance)
        key = doc.pop("_id")
        vf = self.design.version_field
        gate = {"_id": key, vf: {"$lt": version}}
        update = {"$set": {**doc, vf: version}}
        try:
            if self.design.embedded:
                # The filter only matches an older version; when an equal or newer one is there, the upsert's
                # insert collides on _id (E11000): already applied, not an error.
                await self.collection(root).update_one(gate, update, upsert=True)
                return True
            async with self.client.start_session() as session:
                await session.start_transaction(write_concern=self.write_concern)
                await self.collection(root).update_one(gate, update, upsert=True, session=session)
                parents = {o.collection: o.parent_key for o in self.design.collection(root).owned}
                for collection, docs in self.codecs[root].children_of(instance):
                    await self._child_collection(collection).delete_many({parents[collection]: key}, session=session)
                    if docs:
                        await self._child_collection(collection).insert_many(docs, session=session)
                await session.commit_transaction()
        except DuplicateKeyError:
            return False
        return True

    # --- reads ------------------------------------------------------------------------------------------
    def _lookups(self, entity: str, left_out: Mapping[str, int]) -> list[dict[str, Any]]:
        """Referenced design: a $lookup per owned collection the reader wants, in position order."""
        return [{"$lookup": {"from": o.collection, "localField": "_id", "foreignField": o.parent_key,
                             "pipeline": [{"$sort": {POSITION: 1}}], "as": o.member}}
                for o in self.design.collection(entity).owned if o.member not in left_out]

    async def fetch(self, entity: str, key: Any, left_out: Mapping[str, int]) -> Record | None:
        """One instance by key, without the owned collections in `left_out` (member -> 0)."""
        coll, codec = self.collection(entity), self.codecs[entity]
        if self.design.embedded or not self.design.collection(entity).owned:
            doc = await coll.find_one({"_id": key}, dict(left_out) or None)
            return None if doc is None else codec.decode(doc)
        docs = await (await coll.aggregate([{"$match": {"_id": key}}, *self._lookups(entity, left_out)])).to_list(1)
        return codec.decode(docs[0]) if docs else None

    async def read(self, entity: str, key: Any) -> Record | None:
        if entity not in self.design.collections or self.model.entity(entity).role == "child":
            raise UsageError(f"{entity} is owned by another entity in this model: read its owner")
        return await self.fetch(entity, key, {})

    async def scan(self, entity: str) -> AsyncIterator[Record]:
        coll, codec = self.collection(entity), self.codecs[entity]
        if self.design.embedded or not self.design.collection(entity).owned:
            cursor: Any = coll.find({}, batch_size=2000)
        else:
            cursor = await coll.aggregate(self._lookups(entity, {}), batchSize=2000)
        async for doc in cursor:
            yield codec.decode(doc)

    def kept(self, entity: str) -> Kept:
        e = self.model.entity(entity)
        return Kept(tuple(f.name for f in e.stored_fields),
                    {c.name: tuple(f.name for f in self.model.entity(c.entity).stored_fields) for c in e.children})

    def answer(self, pattern: Pattern) -> Answerer | NotAnswerable:
        return answerer(self, pattern)

    def describe(self) -> str:
        return self.design.describe()
