"""What a server itself says about its persistence, asked right before it is killed.

Beside an acknowledged-but-lost count this tells why: PostgreSQL's WAL still only in the server's memory
(inserted, not yet written to the OS: what a process crash loses) and written but not yet fsynced (what
an OS crash would lose), in bytes, and pg_stat_wal's counters; Redis's
INFO persistence (an AOF fsync still running in the background, writes postponed because of it, the last
write's status). The probe uses a connection of its own, so a busy pool cannot delay it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import asyncpg
import redis.asyncio as aioredis

REDIS_FIELDS = ("aof_enabled", "aof_delayed_fsync", "aof_pending_bio_fsync", "aof_buffer_length",
                "aof_last_write_status", "aof_rewrite_in_progress", "aof_last_bgrewrite_status",
                "rdb_changes_since_last_save", "rdb_last_bgsave_status")
PG_SETTINGS = ("fsync", "synchronous_commit", "wal_writer_delay", "wal_sync_method")  # asked at the kill
PROBE_TIMEOUT_S = 2.0
WAL_PAGE = 8192  # PostgreSQL's default XLOG_BLCKSZ
# Transactions still running hold about a page of WAL in memory at any time (8 writers, ~1.3 kB an
# order); two pages beyond that means committed WAL not yet handed to the OS.
WINDOW_PAGES = 2
POLL_S = 0.002


async def state_of(store: str, url: str) -> dict[str, Any]:
    """The server's persistence state now ({} for stores without a probe; {"error": ...} on failure)."""
    try:
        if store == "postgres":
            return await _postgres(url)
        if store == "redis":
            return await _redis(url)
    except Exception as exc:
        return {"error": f"{type(exc).__name__}: {exc}"[:200]}
    return {}


async def _postgres(url: str) -> dict[str, Any]:
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


async def _redis(url: str) -> dict[str, Any]:
    client = aioredis.from_url(url, decode_responses=True, socket_timeout=PROBE_TIMEOUT_S)
    try:
        info = await client.info("persistence")
    finally:
        await client.aclose()
    return {name: info[name] for name in REDIS_FIELDS if name in info}


async def open_window(store: str, url: str, timeout_s: float, then: Callable[[], object],
                      redis_fsync: bool = False) -> dict[str, Any] | None:
    """Wait until the server itself shows acknowledged writes that a process crash would lose, call `then`
    at once (it must not await: the window may close within milliseconds), and return what the server
    showed; None when it never did within timeout_s (or the store cannot tell).

    PostgreSQL with synchronous_commit=off acknowledges a commit before its WAL leaves the server's memory:
    WAL pages inserted but not yet written to the OS (WINDOW_PAGES of them) are such a window. With synchronous
    commit the WAL is flushed before the acknowledgement, so a window seen there holds no acknowledged
    commit. With `redis_fsync` (a busy disk), Redis with an AOF: a background fsync still running
    (aof_pending_bio_fsync=1), during which appendfsync everysec postpones its AOF write while it goes on
    replying. Polled on a connection of its own, every few milliseconds."""
    if store == "postgres":
        return await _postgres_window(url, timeout_s, then)
    if store == "redis" and redis_fsync:
        return await _redis_window(url, timeout_s, then)
    return None


async def _postgres_window(url: str, timeout_s: float, then: Callable[[], object]) -> dict[str, Any] | None:
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


async def _redis_window(url: str, timeout_s: float, then: Callable[[], object]) -> dict[str, Any] | None:
    client = aioredis.from_url(url, decode_responses=True, socket_timeout=PROBE_TIMEOUT_S)
    try:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            info = await client.info("persistence")
            if str(info.get("aof_enabled")) != "1":
                return None  # no AOF: nothing is postponed, every write is at risk anyway
            if str(info.get("aof_pending_bio_fsync")) == "1":
                then()
                return {**{k: info[k] for k in REDIS_FIELDS if k in info}, "window_seen": True}
            await asyncio.sleep(POLL_S)
        return None
    finally:
        await client.aclose()


def brief(state: dict[str, Any]) -> str:
    """One line for the table: what matters for a loss."""
    if not state:
        return "-"
    if "error" in state:
        return f"(not asked: {state['error']})"
    if "wal_in_memory_bytes" in state:
        return (("killed as " if state.get("window_seen") else "") +
                f"WAL only in server memory {state['wal_in_memory_bytes']} B"
                + (f", written but not fsynced {state['wal_written_not_fsynced_bytes']} B"
                   if "wal_written_not_fsynced_bytes" in state else ""))
    parts = ["killed as an AOF fsync was in flight"] if state.get("window_seen") else []
    if str(state.get("aof_enabled")) == "1":
        parts += [f"aof_pending_bio_fsync={state.get('aof_pending_bio_fsync')}",
                  f"aof_delayed_fsync={state.get('aof_delayed_fsync')}",
                  f"aof_buffer_length={state.get('aof_buffer_length')}",
                  f"last write {state.get('aof_last_write_status')}"]
    else:
        parts.append(f"no AOF; changes since last RDB save {state.get('rdb_changes_since_last_save')}")
    return ", ".join(parts)
