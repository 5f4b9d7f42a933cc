"""MongoDB's multi-document transactions for the isolation experiment (contract.Transactions), in a database of
their own (`<namespace>_iso`, created by setup and dropped by drop), on the store's own client.

One level, `snapshot`: a session's transaction with read concern "snapshot" and write concern "majority",
which MongoDB documents as snapshot isolation (a write conflict aborts the later writer: WriteConflict, labelled
TransientTransactionError, counted as "fail", never retried). Lists are arrays ($push), registers a field ($set).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pymongo import AsyncMongoClient
from pymongo.errors import AutoReconnect, ConnectionFailure, NetworkTimeout, OperationFailure, PyMongoError
from pymongo.read_concern import ReadConcern
from pymongo.write_concern import WriteConcern

from sandbox.stores.contract import Mop, TxnOutcome

LEVELS = {"snapshot": "snapshot-isolation"}


class MongoTransactions:
    def __init__(self, client: AsyncMongoClient, namespace: str):
        self.client = client
        self.database = f"{namespace}_iso"
        self.where = f"database {self.database}"
        self.levels = LEVELS
        self._created = False

    async def setup(self) -> None:
        db = self.client[self.database]
        for name in ("lists", "registers"):  # collections cannot be created inside a transaction before 4.4
            await db.create_collection(name)
            self._created = True

    async def drop(self) -> None:
        if self._created:
            await self.client.drop_database(self.database)
            self._created = False

    async def run(self, level: str, model: str, mops: Sequence[Mop]) -> TxnOutcome:
        db = self.client[self.database]
        lists, registers = db["lists"], db["registers"]
        out: list[Mop] = []
        try:
            async with self.client.start_session() as session, \
                    await session.start_transaction(read_concern=ReadConcern("snapshot"),
                                                    write_concern=WriteConcern(w="majority")):
                for f, k, v in mops:
                    if f == "append":
                        await lists.update_one({"_id": k}, {"$push": {"vals": v}}, upsert=True, session=session)
                    elif f == "w":
                        await registers.update_one({"_id": k}, {"$set": {"v": v}}, upsert=True, session=session)
                    else:
                        doc: Any = await (lists if model == "list-append" else registers).find_one(
                            {"_id": k}, session=session)
                        v = (doc.get("vals") or None) if model == "list-append" and doc else \
                            doc.get("v") if doc else None
                    out.append((f, k, v))
        except (AutoReconnect, NetworkTimeout, ConnectionFailure) as exc:
            return TxnOutcome("info", error=type(exc).__name__)
        except OperationFailure as exc:  # a write conflict, an aborted transaction: it did not happen
            if exc.has_error_label("UnknownTransactionCommitResult"):
                return TxnOutcome("info", error=f"{type(exc).__name__} {exc.code}")
            return TxnOutcome("fail", error=f"{type(exc).__name__} {exc.code}")
        except PyMongoError as exc:
            return TxnOutcome("info", error=type(exc).__name__)
        return TxnOutcome("ok", tuple(out))
