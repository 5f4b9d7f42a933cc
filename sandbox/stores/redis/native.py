"""Redis on the native backend: the OS package's redis-server with its password in a mode-600 file."""

from __future__ import annotations

from sandbox.stores.launch import LaunchContext, NativeLauncher, spawn, which

INSTALL_HINT = "apt-get install -y redis-server"


def start(ctx: LaunchContext) -> int:
    return _start(ctx, [])


def start_replica(ctx: LaunchContext) -> int:
    """A replica of the running primary (replicaof its loopback port), read-only, on its own port."""
    if ctx.primary is None:
        raise ValueError("a Redis replica needs its primary's launch context")
    return _start(ctx, [f"replicaof 127.0.0.1 {ctx.primary.port}", f"masterauth {ctx.secrets['REDIS_PASSWORD']}",
                        "replica-read-only yes"])


def _start(ctx: LaunchContext, extra: list[str]) -> int:
    binary = which("redis-server", INSTALL_HINT)
    conf = ctx.root / "redis.conf"
    d = ctx.durability
    # The password goes into a mode-600 file, not onto a command line anyone can read in ps.
    conf.write_text("\n".join([
        f"bind {ctx.host}", f"port {ctx.port}", "daemonize no", f"dir {ctx.root}", f"logfile {ctx.log}",
        f"requirepass {ctx.secrets['REDIS_PASSWORD']}",
        f"appendonly {'yes' if d['appendonly'] else 'no'}", f"appendfsync {d['appendfsync']}",
        'save ""',  # RDB snapshots would blur what AOF does and does not keep
        *extra,
    ]) + "\n")
    conf.chmod(0o600)
    return spawn([binary, str(conf)], ctx.log)


LAUNCHER = NativeLauncher(start, INSTALL_HINT)
REPLICA_LAUNCHER = NativeLauncher(start_replica, INSTALL_HINT)
