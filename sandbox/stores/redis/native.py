"""Redis on the native backend: the OS package's redis-server, its logins in a mode-600 config file.

Two ACL users: `default`, the stack's own (admin password: memory caps, replicas, settings), and `sandbox`, the
run's: keys and channels under `sbx_*` only (every run's namespace starts so), every command but the dangerous
and administrative ones (FLUSHALL, CONFIG, DEBUG, SHUTDOWN, REPLICAOF, KEYS, ...), plus INFO, which the run reads
(server version, persistence). With TLS (`sandbox up --tls`) the server listens on TLS only.
"""

from __future__ import annotations

from sandbox.stores.launch import LaunchContext, NativeLauncher, spawn, which

INSTALL_HINT = "apt-get install -y redis-server"
RUN_USER = "sandbox"
RUN_KEYS = "sbx_*"
# Redis 7 ACL rules of the run's user, after its password.
RUN_RULES = f"~{RUN_KEYS} resetchannels &{RUN_KEYS} +@all -@dangerous -@admin +info"


def start(ctx: LaunchContext) -> int:
    return _start(ctx, [])


def start_replica(ctx: LaunchContext) -> int:
    """A replica of the running primary (replicaof its loopback port), read-only, on its own port."""
    if ctx.primary is None:
        raise ValueError("a Redis replica needs its primary's launch context")
    return _start(ctx, [f"replicaof 127.0.0.1 {ctx.primary.port}", f"masterauth {ctx.secrets['REDIS_ADMIN_PASSWORD']}",
                        "replica-read-only yes", *(["tls-replication yes"] if ctx.tls else [])])


def _start(ctx: LaunchContext, extra: list[str]) -> int:
    binary = which("redis-server", INSTALL_HINT)
    conf = ctx.root / "redis.conf"
    d = ctx.durability
    tls = ctx.tls
    listen = [f"port {ctx.port}"] if tls is None else [
        "port 0", f"tls-port {ctx.port}", f"tls-cert-file {tls.cert}", f"tls-key-file {tls.key}",
        f"tls-ca-cert-file {tls.ca}", "tls-auth-clients no"]
    # The passwords go into a mode-600 file, not onto a command line anyone can read in ps.
    conf.touch(mode=0o600)
    conf.chmod(0o600)
    conf.write_text("\n".join([
        f"bind {ctx.host}", *listen, "daemonize no", f"dir {ctx.root}", f"logfile {ctx.log}",
        f"user default on >{ctx.secrets['REDIS_ADMIN_PASSWORD']} ~* &* +@all",
        f"user {RUN_USER} on >{ctx.secrets['REDIS_PASSWORD']} {RUN_RULES}",
        f"appendonly {'yes' if d['appendonly'] else 'no'}", f"appendfsync {d['appendfsync']}",
        'save ""',  # RDB snapshots would blur what AOF does and does not keep
        *extra,
    ]) + "\n")
    return spawn([binary, str(conf)], ctx.log)


LAUNCHER = NativeLauncher(start, INSTALL_HINT, serves_tls=True)
REPLICA_LAUNCHER = NativeLauncher(start_replica, INSTALL_HINT, serves_tls=True)
