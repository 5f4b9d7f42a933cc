"""PostgreSQL's background work: autovacuum and autoanalyze workers (pg_stat_activity), any VACUUM / ANALYZE in
progress (pg_stat_progress_vacuum / _analyze), and checkpoints: the checkpointer's wait event while one runs,
and the checkpoint counters (pg_stat_bgwriter, pg_stat_checkpointer from 17) for the ones that finished
between two samples, placed by pg_control_checkpoint()'s time and the write + sync time the server added."""

from __future__ import annotations

import time
from typing import Any

import asyncpg

from sandbox.config import Endpoint
from sandbox.stores.background import Activity, went_up

ACTIVITY = """
SELECT a.pid, a.backend_type, a.query, a.wait_event,
       extract(epoch FROM a.xact_start)::float8 AS since,
       v.relid::regclass::text AS vacuuming, v.phase AS vacuum_phase,
       p.relid::regclass::text AS analyzing
FROM pg_stat_activity a
LEFT JOIN pg_stat_progress_vacuum v ON v.pid = a.pid
LEFT JOIN pg_stat_progress_analyze p ON p.pid = a.pid
WHERE a.backend_type IN ('autovacuum worker', 'checkpointer') OR v.pid IS NOT NULL OR p.pid IS NOT NULL
"""
# From PostgreSQL 17 the checkpoint counters moved from pg_stat_bgwriter to pg_stat_checkpointer.
COUNTERS = {
    "pg_stat_checkpointer": "SELECT num_timed AS timed, num_requested AS requested, write_time, sync_time "
                            "FROM pg_stat_checkpointer",
    "pg_stat_bgwriter": "SELECT checkpoints_timed AS timed, checkpoints_req AS requested, "
                        "checkpoint_write_time AS write_time, checkpoint_sync_time AS sync_time FROM pg_stat_bgwriter",
}
IDLE_CHECKPOINTER = (None, "CheckpointerMain")  # its wait events when no checkpoint runs


class PostgresBackground:
    sees = ("autovacuum", "autoanalyze", "vacuum", "analyze", "checkpoint")
    blind: tuple[str, ...] = ()

    def __init__(self, conn: asyncpg.Connection, counters_sql: str):
        self.conn = conn
        self.counters_sql = counters_sql
        self.before: dict[str, float] | None = None
        self.checkpointing = False  # one was seen running at the last sample: its window is open already

    async def sample(self) -> list[Activity]:
        out = [a for row in await self.conn.fetch(ACTIVITY) if (a := _activity(row)) is not None]
        row = await self.conn.fetchrow(self.counters_sql)
        now = {k: float(row[k] or 0) for k in ("timed", "requested", "write_time", "sync_time")}
        up = went_up(now, self.before)
        self.before = now
        done = int(up.get("timed", 0) + up.get("requested", 0))
        seen_running, self.checkpointing = self.checkpointing, any(a.what == "checkpoint" for a in out)
        if done > (1 if seen_running else 0):
            # The last one's end (second resolution) and, from the times the server added, how long they took.
            ended = await self.conn.fetchval("SELECT extract(epoch FROM checkpoint_time)::float8 "
                                             "FROM pg_control_checkpoint()")
            took_s = (up.get("write_time", 0) + up.get("sync_time", 0)) / 1000
            why = "requested" if up.get("requested") else "timed"
            out.append(Activity("checkpoint", f"{done} {why}, write + sync {took_s * 1000:.0f} ms",
                                start=ended - took_s if ended else None, end=(ended + 1.0) if ended else time.time()))
        return out

    async def close(self) -> None:
        await self.conn.close()


def _activity(row: Any) -> Activity | None:
    query = (row["query"] or "").strip()
    if row["backend_type"] == "checkpointer":
        if row["wait_event"] in IDLE_CHECKPOINTER:
            return None
        return Activity("checkpoint", f"running ({row['wait_event']})")
    if row["backend_type"] == "autovacuum worker":
        if not query.startswith("autovacuum:"):
            return None  # a worker between tables
        what = "autovacuum" if "VACUUM" in query else "autoanalyze"
        return Activity(what, query.removeprefix("autovacuum:").strip()[:120], start=row["since"])
    if row["vacuuming"]:
        return Activity("vacuum", f"{row['vacuuming']} ({row['vacuum_phase']})", start=row["since"])
    return Activity("analyze", str(row["analyzing"]), start=row["since"])


async def open_probe(endpoint: Endpoint) -> PostgresBackground:
    conn = await asyncpg.connect(endpoint.url, timeout=5)
    view = "pg_stat_checkpointer" if await conn.fetchval("SELECT to_regclass('pg_catalog.pg_stat_checkpointer')") \
        else "pg_stat_bgwriter"
    await conn.execute("SET application_name = 'sandbox background probe'")
    return PostgresBackground(conn, COUNTERS[view])
