"""PostgreSQL streaming replicas: a hot standby cloned with pg_basebackup -R, its lag, its promotion.

The standby follows the primary over the primary's Unix socket (trusted for local replication, as
initdb sets it up); readers reach it on its own loopback port. `synchronous_standby_names` on the
primary plus the writer's `synchronous_commit` make the guarantees compared in the replicas scenario.
"""

from __future__ import annotations

import asyncio
import os
import shutil

import asyncpg

from sandbox.errors import SandboxError
from sandbox.stores.launch import LaunchContext, NativeLauncher, run
from sandbox.stores.postgres.native import (
    INSTALL_HINT,
    LAUNCHER,
    bindir,
    chown_postgres,
    own_dir,
    server_options,
    tls_options,
)
from sandbox.stores.postgres.roles import ADMIN
from sandbox.stores.replication import Guarantee, Replication, ServerLag

CONNECT_TIMEOUT_S = 5.0
SYNC_SETTLE_S = 10.0


def start_replica(ctx: LaunchContext) -> int:
    if ctx.primary is None:
        raise SandboxError("a PostgreSQL standby needs its primary's launch context")
    binaries, data, sock = bindir(), ctx.root / "data", ctx.root / "sock"
    as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if not (data / "PG_VERSION").exists():
        shutil.rmtree(data, ignore_errors=True)
        own_dir(data, 0o700)
        # -R writes standby.signal and primary_conninfo (the primary's socket); -X stream: no WAL gap.
        run([*as_postgres, str(binaries / "pg_basebackup"), "-h", str(ctx.primary.root / "sock"),
             "-p", str(ctx.primary.port), "-U", ADMIN, "-D", str(data), "-R", "-X", "stream", "-c", "fast"],
            "pg_basebackup")
    own_dir(sock, 0o755)
    ctx.log.touch()
    chown_postgres(ctx.log)
    # Replies every second even when idle, so pg_stat_replication's lag columns stay current.
    opts = (server_options(ctx.port, sock, ctx.durability, tls=tls_options(ctx.root, ctx.tls))
            + " -c hot_standby=on -c wal_receiver_status_interval=1")
    run([*as_postgres, str(binaries / "pg_ctl"), "start", "-w", "-t", "60", "-D", str(data), "-l", str(ctx.log),
         "-o", opts], "pg_ctl start (standby)")
    return int((data / "postmaster.pid").read_text().split()[0])


async def _connect(url: str) -> asyncpg.Connection:
    return await asyncpg.connect(url, timeout=CONNECT_TIMEOUT_S)


async def role(url: str) -> str:
    conn = await _connect(url)
    try:
        standby = await conn.fetchval("SELECT pg_is_in_recovery()", timeout=CONNECT_TIMEOUT_S)
    finally:
        await conn.close()
    return f"{'standby' if standby else 'primary'} (pg_is_in_recovery() = {'true' if standby else 'false'})"


LAG_SQL = """
SELECT extract(epoch FROM write_lag)::float8, extract(epoch FROM flush_lag)::float8,
       extract(epoch FROM replay_lag)::float8, pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::bigint,
       application_name, sync_state
FROM pg_stat_replication ORDER BY backend_start LIMIT 1
"""


async def lag(primary_url: str, replica_url: str) -> ServerLag:
    conn = await _connect(primary_url)
    try:
        row = await conn.fetchrow(LAG_SQL, timeout=CONNECT_TIMEOUT_S)
    finally:
        await conn.close()
    if row is None:
        return ServerLag(detail="pg_stat_replication: no standby connected")
    return ServerLag(row[3], row[0], row[1], row[2],
                     f"pg_stat_replication ({row[4]}, {row[5]}): write/flush/replay lag, pg_wal_lsn_diff bytes")


async def promote(url: str) -> str:
    conn = await _connect(url)
    try:
        done = await conn.fetchval("SELECT pg_promote(true, 60)")
    finally:
        await conn.close()
    if not done:
        raise SandboxError("pg_promote() did not finish within 60 s")
    return "pg_promote(): the standby now takes writes"


async def configure(primary_url: str, guarantee: Guarantee) -> None:
    """Set synchronous_standby_names on the primary and wait until the walsender reports the new state."""
    names = str(guarantee.server.get("synchronous_standby_names", ""))
    conn = await _connect(primary_url)
    try:
        await conn.execute(f"ALTER SYSTEM SET synchronous_standby_names = '{names}'", timeout=CONNECT_TIMEOUT_S)
        await conn.execute("SELECT pg_reload_conf()", timeout=CONNECT_TIMEOUT_S)
        want = "sync" if names else "async"
        deadline = asyncio.get_running_loop().time() + SYNC_SETTLE_S
        while await conn.fetchval("SELECT sync_state FROM pg_stat_replication LIMIT 1",
                                  timeout=CONNECT_TIMEOUT_S) != want:
            if asyncio.get_running_loop().time() > deadline:
                raise SandboxError(f"the standby did not become {want} within {SYNC_SETTLE_S:.0f} s "
                                   "(is it connected? `sandbox status`)")
            await asyncio.sleep(0.05)
    finally:
        await conn.close()


def _guarantee(commit: str, sync: bool) -> Guarantee:
    names = "*" if sync else ""
    label = f"synchronous_commit={commit}" + (", synchronous_standby_names='*'" if sync else " (no sync standby)")
    return Guarantee("async" if not sync else commit, {"postgres_synchronous_commit": commit},
                     {"synchronous_standby_names": names}, label)


REPLICATION = Replication(
    port=15532, role=role, lag=lag, promote=promote, configure=configure,
    guarantees=(_guarantee("on", False), _guarantee("remote_write", True), _guarantee("on", True),
                _guarantee("remote_apply", True)),
    native=NativeLauncher(start_replica, INSTALL_HINT, data_dir=LAUNCHER.data_dir, stop_signal=LAUNCHER.stop_signal,
                          wait_port_closed=True, serves_tls=True),
    compose_service="postgres-replica", needs="ALTER SYSTEM and pg_promote(), PostgreSQL superuser",
)
