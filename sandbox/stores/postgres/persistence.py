"""What PostgreSQL says about its persistence right before it is killed: WAL still only in the server's memory
(inserted, not yet written to the OS: what a process crash loses) and written but not yet fsynced (what an OS
crash would lose), in bytes, and pg_stat_wal's counters. Declared on the KIND as `persistence`; the probe uses
a connection of its own, so a busy pool cannot delay it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import asyncpg

PG_SETTINGS = ("fsync", "synchronous_commit", "wal_writer_delay", "wal_sync_method")  # asked at the kill
PROBE_TIMEOUT_S = 2.0
WAL_PAGE = 8192  # PostgreSQL's default XLOG_BLCKSZ
# Transactions still running hold about a page of WAL in memory at any time (8 writers, ~1.3 kB an
# order); two pages beyond that means committed WAL not yet handed to the OS.
WINDOW_PAGES = 2
POLL_S = 0.002


class PostgresPersistence:
    async def state(self, url: str) -> dict[str, Any]:
        conn = await asyncpg.connect(url, timeout=PROBE_TIMEOUT_S)
        try:
            row = await conn.fetchrow(
                "SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), pg_current_wal_lsn()) AS in_memory, "
                "pg_wal_lsn_diff(pg_current_wal_lsn(), pg_current_wal_flush_lsn()) AS not_fsynced")
            out: dict[str, Any] = {"wal_in_memory_bytes": int(row["in_memory"]),
                                   "wal_written_not_fsynced_bytes": int(row["not_fsynced"])}
            for name in PG_SETTINGS:
                out[name] = await conn.fetchval(f"SHOW {name}")
            if await conn.fetchval("SELECT to_regclass('pg_catalog.pg_stat_wal') IS NOT NULL"):  # PostgreSQL 14+
                row = await conn.fetchrow("SELECT wal_records, wal_bytes, wal_buffers_full, wal_write, wal_sync "
                                          "FROM pg_stat_wal")
                out.update({f"pg_stat_wal.{k}": int(v) for k, v in row.items()})
            return out
        finally:
            await conn.close()

    async def window(self, url: str, timeout_s: float, then: Callable[[], object], busy_disk: bool
                     ) -> dict[str, Any] | None:
        """With synchronous_commit=off a commit is acknowledged before its WAL leaves the server's memory:
        WAL pages inserted but not yet written to the OS (WINDOW_PAGES of them) are such a window. With
        synchronous commit the WAL is flushed before the acknowledgement, so a window seen there holds no
        acknowledged commit."""
        conn = await asyncpg.connect(url, timeout=PROBE_TIMEOUT_S)
        try:
            deadline = time.monotonic() + timeout_s
            while time.monotonic() < deadline:
                in_memory = int(await conn.fetchval(
                    "SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), pg_current_wal_lsn())"))
                if in_memory >= WINDOW_PAGES * WAL_PAGE:
                    then()
                    return {"wal_in_memory_bytes": in_memory, "window_seen": True}
                await asyncio.sleep(POLL_S)
            return None
        finally:
            await conn.close()

    def brief(self, state: dict[str, Any]) -> str:
        return (("killed as " if state.get("window_seen") else "") +
                f"WAL only in server memory {state['wal_in_memory_bytes']} B"
                + (f", written but not fsynced {state['wal_written_not_fsynced_bytes']} B"
                   if "wal_written_not_fsynced_bytes" in state else ""))
