"""PostgreSQL's transactions for the isolation experiment (contract.Transactions): list-append and register
transactions at READ COMMITTED, REPEATABLE READ and SERIALIZABLE, on the store's own asyncpg pool, in a schema of
their own (`<namespace>_iso`, created by setup and dropped by drop).

An append is `vals = vals || v` in one statement, as an application's "add to the list" is: READ COMMITTED
re-reads the row after a concurrent writer commits, so no element is ever lost, but a read made earlier in the
transaction was stale when it wrote, which the checker names a lost update (and G-single / G2-item).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg

from sandbox.stores.contract import Mop, TxnOutcome

LEVELS = {"read committed": "read-committed", "repeatable read": "snapshot-isolation",
          "serializable": "serializable"}
_ASYNCPG = {"read committed": "read_committed", "repeatable read": "repeatable_read", "serializable": "serializable"}
# What PostgreSQL says when it refused the transaction (it did not happen): a serialization failure (40001), a
# deadlock victim (40P01), a lock it could not take.
REFUSED = (asyncpg.SerializationError, asyncpg.DeadlockDetectedError, asyncpg.LockNotAvailableError)


class PostgresTransactions:
    def __init__(self, pool: asyncpg.Pool, namespace: str):
        self.pool = pool
        self.schema = '"' + f"{namespace}_iso".replace('"', '""') + '"'
        self.where = f"schema {namespace}_iso"
        self.levels = LEVELS
        self._created = False

    async def setup(self) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute(f"CREATE SCHEMA {self.schema}")
            self._created = True
            await conn.execute(f"CREATE TABLE {self.schema}.lists (k bigint PRIMARY KEY, vals bigint[] NOT NULL)")
            await conn.execute(f"CREATE TABLE {self.schema}.registers (k bigint PRIMARY KEY, v bigint NOT NULL)")

    async def drop(self) -> None:
        if self._created:
            await self.pool.execute(f"DROP SCHEMA IF EXISTS {self.schema} CASCADE")
            self._created = False

    async def run(self, level: str, model: str, mops: Sequence[Mop]) -> TxnOutcome:
        s = self.schema
        out: list[Mop] = []
        try:
            async with self.pool.acquire() as conn, conn.transaction(isolation=_ASYNCPG[level]):
                for f, k, v in mops:
                    if f == "append":
                        await conn.execute(f"INSERT INTO {s}.lists AS t VALUES ($1, ARRAY[$2::bigint]) "
                                           "ON CONFLICT (k) DO UPDATE SET vals = t.vals || $2::bigint", k, v)
                        out.append((f, k, v))
                    elif f == "w":
                        await conn.execute(f"INSERT INTO {s}.registers AS t VALUES ($1, $2) "
                                           "ON CONFLICT (k) DO UPDATE SET v = $2", k, v)
                        out.append((f, k, v))
                    elif model == "list-append":
                        got: Any = await conn.fetchval(f"SELECT vals FROM {s}.lists WHERE k = $1", k)
                        out.append((f, k, list(got) if got else None))
                    else:
                        out.append((f, k, await conn.fetchval(f"SELECT v FROM {s}.registers WHERE k = $1", k)))
        except REFUSED as exc:
            return TxnOutcome("fail", error=type(exc).__name__)
        except asyncpg.UniqueViolationError as exc:  # two first inserts of one key: the loser rolled back
            return TxnOutcome("fail", error=type(exc).__name__)
        except (OSError, asyncpg.InterfaceError, asyncpg.PostgresConnectionError, TimeoutError) as exc:
            return TxnOutcome("info", error=type(exc).__name__)  # the COMMIT may or may not have happened
        return TxnOutcome("ok", tuple(out))
