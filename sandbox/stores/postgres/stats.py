"""PostgreSQL's own statistics: pg_stat_statements (the playbook's top statements by total time),
pg_stat_database (cache hits, commits, deadlocks, temp bytes), pg_stat_user_tables / _indexes of the run's
schema. A crash resets them all (a clean restart keeps them): `life` says which. Database, table and index
counters are flushed by each backend at most once a second (an idle one's up to 10 s later), so they trail a
short run; pg_stat_statements is updated as each statement ends, so the
cross-check with the client's counts uses it."""

from __future__ import annotations

import re

import asyncpg

from sandbox.stores.server_stats import ServerStats, Statement

DATABASE = ("xact_commit", "xact_rollback", "blks_read", "blks_hit", "tup_inserted", "tup_updated", "tup_deleted",
            "tup_returned", "tup_fetched", "conflicts", "deadlocks", "temp_files", "temp_bytes")
TABLES = ("seq_scan", "idx_scan", "n_tup_ins", "n_tup_upd", "n_tup_del", "n_live_tup", "n_dead_tup")
HEADLINE = ("database.xact_commit", "database.xact_rollback", "database.deadlocks", "database.temp_bytes",
            "database.tup_inserted")
SOURCE = "pg_stat_statements, pg_stat_database, pg_stat_user_tables, pg_stat_user_indexes"


async def snapshot(pool: asyncpg.Pool, namespace: str, table: str = "orders") -> ServerStats:
    """`table`: the root's table, whose written rows are counted (the orders model's: orders)."""
    stats = ServerStats(SOURCE, writes_counter="statements.orders_written",
                        writes_note=f"rows of INSERTs and COPYs into {namespace}.{table} per pg_stat_statements",
                        headline=HEADLINE, calls_counter="statements.calls",
                        calls_scope="statements of every client of this database (pg_stat_statements, utility "
                                    "statements such as BEGIN, COMMIT and RESET ALL included; the sandbox's own "
                                    "pg_stat_* queries left out)",
                        ratios={"cache_hit_ratio": ("database.blks_hit", "database.blks_read")})
    row = await pool.fetchrow(f"SELECT {', '.join(DATABASE)}, stats_reset, pg_postmaster_start_time() AS started, "
                              "(SELECT stats_reset FROM pg_stat_bgwriter) AS shared_reset "
                              "FROM pg_stat_database WHERE datname = current_database()")
    # A crash discards every statistic and stamps the shared ones' stats_reset; a clean restart keeps both (the
    # postmaster's start time changes either way), so the two stats_reset times mark one life of the counters.
    stats.life = f"database reset {row['stats_reset']}, shared reset {row['shared_reset']}"
    stats.started = row["started"].isoformat()
    stats.counters.update({f"database.{k}": float(row[k] or 0) for k in DATABASE})
    for r in await pool.fetch(f"SELECT relname, {', '.join(TABLES)} FROM pg_stat_user_tables WHERE schemaname = $1",
                              namespace):
        stats.counters.update({f"table.{r['relname']}.{k}": float(r[k] or 0) for k in TABLES if k[:2] != "n_"
                               or k.startswith("n_tup")})
        stats.gauges.update({f"table.{r['relname']}.{k}": r[k] for k in ("n_live_tup", "n_dead_tup")})
    for r in await pool.fetch("SELECT indexrelname, idx_scan FROM pg_stat_user_indexes WHERE schemaname = $1",
                              namespace):
        stats.counters[f"index.{r[0]}.idx_scan"] = float(r[1] or 0)
    await _statements(pool, namespace, stats, table)
    return stats


async def _statements(pool: asyncpg.Pool, namespace: str, stats: ServerStats, table: str) -> None:
    try:
        await pool.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        rows = await pool.fetch(
            "SELECT queryid::text, query, calls, total_exec_time, rows FROM pg_stat_statements "
            "WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND queryid IS NOT NULL")
    except asyncpg.PostgresError as exc:  # not in shared_preload_libraries, or not allowed to create it
        stats.unavailable.append(f"pg_stat_statements: {type(exc).__name__}: {exc}"[:200])
        return
    orders = re.compile(rf'"?{re.escape(namespace)}"?\."?{re.escape(table)}"?[\s(]')  # quoted or not
    written = every = 0.0
    for key, query, calls, total_ms, n in rows:
        text = " ".join(query.split())
        if "pg_stat_" in text:  # the sandbox's own monitoring queries, these snapshots included
            continue
        every += calls
        stats.statements[key] = Statement(key, text[:300], calls, total_ms, n)
        into = re.findall(r"INSERT INTO (\S+)", text, re.IGNORECASE)
        if any(orders.match(t + " ") for t in into) or (text.upper().startswith("COPY ") and orders.match(text[5:])):
            # Its rows are orders: a write's one (its SELECT count(*) or VALUES row), a batch's unnest()ed or COPYed.
            written += n
    stats.counters["statements.orders_written"] = written
    stats.counters["statements.calls"] = every
