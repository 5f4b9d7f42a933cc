"""Change data capture of a PostgreSQL outbox (stores/events.py ChangeCapture): the outbox table's inserts read
from the write-ahead log through a logical replication slot, as Debezium's outbox event router reads them (here
over SQL, `pg_logical_slot_peek_changes`, instead of the replication protocol). The output plugin is
test_decoding, which ships with the server (the official image too); wal2json would need a package on every
server, and its JSON buys nothing for one known table.

At least once: changes are peeked (not consumed), published, and only then confirmed with
`pg_replication_slot_advance`; a capture that dies in between reads them again. Until a slot confirms, the
server keeps every WAL segment from the slot's restart_lsn on: `retained_bytes` is what a stopped consumer costs
the primary's disk. The slot is the run's (named after its namespace) and dropped at close; a slot left by a
killed run keeps WAL until dropped (`sandbox gc` drops the run's schema; SELECT pg_drop_replication_slot(name)
FROM pg_replication_slots WHERE slot_name LIKE 'sbx_%' drops such slots).

A slot needs the REPLICATION attribute, which the run's login lacks by design (least privilege): the capture
logs in as a connector would, with a login of its own (`url`, the stack's administrative one).
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

import asyncpg

from sandbox.errors import UsageError
from sandbox.stores.events import Event, SourceEvent
from sandbox.stores.postgres.model_store import PostgresModelBase

PLUGIN = "test_decoding"
# test_decoding's row: `table s.outbox: INSERT: name[type]:value ...`, text quoted with '' for a quote.
COLUMN = re.compile(r"(\w+)\[[^\]]*\]:('(?:[^']|'')*'|\S+)")


class PostgresChangeCapture:
    def __init__(self, store: PostgresModelBase, url: str):
        self.store, self.url = store, url or store.endpoint.url  # none given: the run's (it may have REPLICATION)
        self.pool: asyncpg.Pool | None = None
        self.slot = f"{store.namespace}_cdc"
        self.prefix = f"table {store.namespace}.outbox: INSERT: "
        self._open = False

    async def open(self) -> None:
        level = await self.store.pool.fetchval("SHOW wal_level")
        if level != "logical":
            raise UsageError(f"change data capture needs wal_level=logical (the server has {level}): restart the "
                             "native stack's PostgreSQL (`sandbox down` then `sandbox up`), or set it on yours")
        self.pool = await asyncpg.create_pool(self.url, min_size=1, max_size=2)
        try:
            await self.pool.execute("SELECT pg_create_logical_replication_slot($1, $2)", self.slot, PLUGIN)
        except asyncpg.InsufficientPrivilegeError as e:
            raise UsageError(f"change data capture: the capture's login may not create a replication slot ({e}); "
                             "it needs the REPLICATION attribute") from None
        self._open = True

    @property
    def _pool(self) -> asyncpg.Pool:
        if self.pool is None:
            raise RuntimeError("the capture is not open")
        return self.pool

    async def peek(self, limit: int) -> tuple[list[SourceEvent], Any]:
        rows = await self._pool.fetch(
            "SELECT lsn::text, data FROM pg_logical_slot_peek_changes($1, NULL, $2, 'skip-empty-xacts', '1')",
            self.slot, limit)
        events, position = [], None
        for lsn, data in rows:
            if data.startswith(self.prefix):
                events.append(_event(data[len(self.prefix):]))
            elif data.startswith("COMMIT"):
                # A COMMIT row's lsn is the END of its commit record. Decoding skips a transaction whose commit record
                # starts before the confirmed position: confirming this end skips this transaction and no other (a
                # concurrent one's commit record can start exactly here; confirming a byte further lost those: measured,
                # 5 of 400 with 8 writers).
                position = lsn
        return events, position

    async def confirm(self, position: Any) -> None:
        if position is not None:
            await self._pool.execute("SELECT pg_replication_slot_advance($1, $2::text::pg_lsn)", self.slot,
                                          position)

    async def retained_bytes(self) -> int:
        value = await self._pool.fetchval(
            "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn) FROM pg_replication_slots WHERE slot_name = $1",
            self.slot)
        return int(value or 0)

    async def close(self) -> None:
        if self.pool is None:
            return
        try:
            if self._open:
                await self.pool.execute("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "
                                        "WHERE slot_name = $1", self.slot)
        finally:
            self._open = False
            await self.pool.close()
            self.pool = None


def _event(text: str) -> SourceEvent:
    row = {name: value[1:-1].replace("''", "'") if value.startswith("'") else value
           for name, value in COLUMN.findall(text)}
    created = datetime.fromisoformat(row["created_at"]).timestamp()
    return SourceEvent(Event(row["id"], row["type"], row["aggregateid"], int(row["seq"]), json.loads(row["payload"])),
                       created)
