"""PostgreSQL on the native backend: the OS packages' server, a cluster of the sandbox's own."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sandbox.errors import UsageError
from sandbox.secure import TlsFiles
from sandbox.stores.launch import LaunchContext, NativeLauncher, backups_dir, run
from sandbox.stores.postgres.roles import ADMIN, apply_roles

INSTALL_HINT = "apt-get install -y postgresql-15 postgresql-contrib"


def data_dir(state_dir: Path) -> Path:
    """PostgreSQL's folder: in the state dir, unless (as root) the postgres user cannot reach it.

    A clone inside a mode-700 folder (mktemp -d, as CI uses) is out of the postgres user's reach;
    then the cluster lives in a folder of its own under /var/tmp, named after the state dir, and
    `purge` removes it with the rest.
    """
    inside = state_dir / "native" / "postgres"
    if os.geteuid() != 0:
        return inside
    inside.parent.mkdir(parents=True, exist_ok=True)
    probe = subprocess.run(["runuser", "-u", "postgres", "--", "test", "-x", str(inside.parent)])
    if probe.returncode == 0:
        return inside
    digest = hashlib.sha1(str(state_dir).encode()).hexdigest()[:12]
    return Path("/var/tmp/polyglot-sandbox") / digest / "postgres"


def start(ctx: LaunchContext) -> int:
    binaries = bindir()
    root, port, log, d = ctx.root, ctx.port, ctx.log, ctx.durability
    data, sock = root / "data", root / "sock"
    as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if not (data / "PG_VERSION").exists():
        shutil.rmtree(data, ignore_errors=True)
        own_dir(data, 0o700)
        pwfile = root / "pwfile"
        pwfile.write_text(ctx.secrets["POSTGRES_ADMIN_PASSWORD"] + "\n")
        pwfile.chmod(0o600)
        chown_postgres(pwfile)
        try:  # the bootstrap superuser is the stack's; the run's own role comes from roles.py
            run([*as_postgres, str(binaries / "initdb"), "-D", str(data), "-U", ADMIN, "-E", "UTF8",
                 "--auth-local=trust", "--auth-host=scram-sha-256", f"--pwfile={pwfile}"], "initdb")
        finally:
            pwfile.unlink()
    own_dir(sock, 0o755)
    log.touch()
    chown_postgres(log)
    behind_netns = ctx.host != "127.0.0.1"
    opts = server_options(port, sock, d, ctx.host, tls=tls_options(root, ctx.tls, samenet=behind_netns)) \
        + archive_options(root, d)
    if behind_netns and ctx.tls is None:
        opts += f" -c hba_file={netns_hba(root, data)}"
    run([*as_postgres, str(binaries / "pg_ctl"), "start", "-w", "-t", "60", "-D", str(data),
         "-l", str(log), "-o", opts], "pg_ctl start")
    try:
        apply_roles([*as_postgres, str(binaries / "psql"), "-h", str(sock), "-p", str(port)], root,
                    ctx.secrets["POSTGRES_ADMIN_PASSWORD"], ctx.secrets["POSTGRES_PASSWORD"])
    except BaseException:  # not recorded yet: stop it here, or it would hold the port unseen
        subprocess.run([*as_postgres, str(binaries / "pg_ctl"), "stop", "-D", str(data), "-m", "fast"],
                       capture_output=True)
        raise
    return int((data / "postmaster.pid").read_text().split()[0])


def server_options(port: int, sock: Path, d: Mapping[str, Any], host: str = "127.0.0.1", *, tls: str = "") -> str:
    """The command-line settings a primary and its standbys share."""
    return (f"-c listen_addresses={host} -p {port} -k {sock} "
            f"-c shared_preload_libraries=pg_stat_statements -c fsync={'on' if d['fsync'] else 'off'} "
            f"-c synchronous_commit={d['synchronous_commit']} -c max_connections=200 "
            # logical: change data capture through replication slots (stores/postgres/cdc.py); a superset of the
            # `replica` level standbys need. The slot and sender limits stay at their defaults (10 each).
            f"-c wal_level=logical {tls}").strip()


def archive_options(root: Path, d: Mapping[str, Any]) -> str:
    """Continuous WAL archiving into the stack's backups folder beside the data (postgres/backup.py), when the
    `archive` knob is on; gzip because a segment switched early by archive_timeout is 16 MB, mostly zeros."""
    if not d.get("archive"):
        return ""
    wal = wal_archive(root)
    own_dir(wal.parent, 0o700)
    own_dir(wal, 0o700)
    command = f"test ! -f {wal}/%f.gz && gzip -1 < %p > {wal}/%f.gz.tmp && mv {wal}/%f.gz.tmp {wal}/%f.gz"
    return (f" -c archive_mode=on -c archive_command='{command}'"
            f" -c archive_timeout={int(d.get('archive_timeout_s', 0))}")


def wal_archive(root: Path) -> Path:
    return backups_dir(root) / "wal"


HBA_TLS = """# Written by the sandbox for `sandbox up --tls`: over TCP, TLS only.
local all all trust
local replication all trust
hostssl all all 127.0.0.1/32 scram-sha-256
hostssl replication all 127.0.0.1/32 scram-sha-256
"""


def tls_options(root: Path, tls: TlsFiles | None, samenet: bool = False) -> str:
    """With TLS: the certificate and key copied where the postgres user owns them (the key mode 600, as the
    server demands), and an hba file that refuses TCP connections without TLS (`samenet`: also from the server's
    own subnet, a network namespace's veth pair, stack/netns.py)."""
    if tls is None:
        return ""
    folder = root / "tls"
    own_dir(folder, 0o700)
    cert, key, hba = folder / "server.pem", folder / "server.key", folder / "pg_hba.conf"
    cert.write_bytes(tls.cert.read_bytes())
    key.write_bytes(tls.key.read_bytes())
    hba.write_text(HBA_TLS + ("hostssl all all samenet scram-sha-256\n" if samenet else ""))
    for path in (cert, key, hba):
        path.chmod(0o600)
        chown_postgres(path)
    return f"-c ssl=on -c ssl_cert_file={cert} -c ssl_key_file={key} -c hba_file={hba}"


def netns_hba(root: Path, data: Path) -> Path:
    """The cluster's pg_hba.conf plus password logins from the server's own subnet (`samenet`): in a network
    namespace that is the veth pair's /30 and nothing else (stack/netns.py). A file beside the data, so the
    cluster's own pg_hba.conf is the same again when it runs on loopback."""
    hba = root / "pg_hba_netns.conf"
    hba.write_text((data / "pg_hba.conf").read_text() + "\nhost all all samenet scram-sha-256\n")
    hba.chmod(0o600)
    chown_postgres(hba)
    return hba


def bindir() -> Path:
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"),
                        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0)
    if candidates:
        return candidates[-1].parent
    found = shutil.which("pg_ctl")
    if found is None:
        raise UsageError(f"PostgreSQL server binaries (pg_ctl) not found: {INSTALL_HINT}")
    return Path(found).parent


def own_dir(path: Path, mode: int) -> None:
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(mode)
    chown_postgres(path)


def chown_postgres(path: Path) -> None:
    # PostgreSQL refuses to run as root, so as root its files belong to the postgres user.
    if os.geteuid() == 0:
        shutil.chown(path, "postgres", "postgres")


# SIGINT is PostgreSQL's "fast" shutdown (SIGTERM waits for clients to leave); the postmaster's
# port can outlive its PID for a moment, so the stack waits for it to close.
LAUNCHER = NativeLauncher(start, INSTALL_HINT, data_dir=data_dir, stop_signal=signal.SIGINT, wait_port_closed=True,
                          serves_tls=True)
