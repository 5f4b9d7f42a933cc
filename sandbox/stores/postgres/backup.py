"""PostgreSQL backups: a base backup (pg_basebackup) plus the continuous WAL archive (native.py archive_options),
and restores from them, to the end of the archive or to a moment (recovery_target_time: point-in-time).

The archive lives in the stack's backups folder beside the data directory, so a destroyed data directory
leaves it. A restore lays the base backup down as the new data directory and, when the archive has WAL,
asks the server to replay it (recovery.signal + restore_command) and to promote itself at the end or at the
target; the stack then starts the server as usual and restore_online waits until recovery is over.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType
from urllib.parse import urlsplit

from sandbox.errors import SandboxError, UsageError
from sandbox.stores.contract import BackupArtifact, BackupTarget
from sandbox.stores.launch import run
from sandbox.stores.postgres.native import bindir, own_dir, wal_archive

ARCHIVE_WAIT_S = 30.0


def _as_postgres() -> list[str]:
    return ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


def _login(target: BackupTarget) -> str:
    """The stack's administrative role (walsender, pg_switch_wal), over the data directory's socket."""
    return urlsplit(target.admin_url).username or "postgres"


def size_of(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) if path.is_dir() else path.stat().st_size


class PostgresBackups:
    methods = ("base",)
    # a segment at least every second under writes
    continuous_knobs: Mapping[str, object] = MappingProxyType({"archive": True, "archive_timeout_s": 1})
    continuous = "WAL archive (archive_command, gzip; segments switched at least every archive_timeout)"

    def take(self, target: BackupTarget, method: str) -> BackupArtifact:
        if method not in self.methods:
            raise UsageError(f"postgres backup method {method!r}: choose from {', '.join(self.methods)}")
        own_dir(target.backups, 0o700)
        began = time.perf_counter()
        dest = target.backups / f"base-{datetime.now(UTC).strftime('%Y%m%dT%H%M%S.%f')}"
        # -X stream: the WAL the backup needs comes with it, so it restores alone when the archive is gone too.
        proc = subprocess.run([*_as_postgres(), str(bindir() / "pg_basebackup"), "-h", str(target.root / "sock"),
                               "-p", str(target.port), "-U", _login(target), "-D", str(dest), "-X", "stream",
                               "-c", "fast"],
                              capture_output=True, text=True)
        if proc.returncode != 0:  # its last line is the clean-up; the cause is the first error line
            lines = proc.stderr.strip().splitlines()
            cause = next((line for line in lines if "error" in line), lines[0] if lines else "no output")
            raise SandboxError(f"pg_basebackup failed (exit {proc.returncode}): {cause}")
        taken = datetime.now(UTC)
        return BackupArtifact(target.store, method, dest, size_of(dest), time.perf_counter() - began, taken,
                              "pg_basebackup -X stream (plain format)")

    def destroy(self, target: BackupTarget) -> list[Path]:
        data = target.root / "data"
        pid_file = data / "postmaster.pid"
        if pid_file.exists() and _alive(int(pid_file.read_text().split()[0])):
            raise SandboxError("postgres: refusing to destroy the data directory of a running server")
        shutil.rmtree(data, ignore_errors=True)
        # The launcher's marker that the cluster holds the `sandbox` database: a fresh cluster needs it created.
        (target.root / ".db-created").unlink(missing_ok=True)
        return [data]

    def destroy_archive(self, target: BackupTarget) -> list[Path]:
        """The WAL archive lost too (the disaster took the backups' disk as well, but not the base backups)."""
        wal = wal_archive(target.root)
        shutil.rmtree(wal, ignore_errors=True)
        return [wal]

    def restore_files(self, target: BackupTarget, artifact: BackupArtifact, until: datetime | None = None) -> str:
        data, wal = target.root / "data", wal_archive(target.root)
        if (data / "PG_VERSION").exists():
            raise SandboxError("postgres: the data directory is still there; destroy it before a restore")
        shutil.rmtree(data, ignore_errors=True)
        own_dir(data, 0o700)  # the folder above belongs to the stack (root), its contents to postgres
        run([*_as_postgres(), "cp", "-a", f"{artifact.path}/.", str(data)], "copying the base backup")
        (target.root / ".db-created").touch()  # the backup's cluster has the `sandbox` database
        archived = wal.is_dir() and any(wal.glob("*.gz"))
        if until is not None and not archived:
            raise UsageError("postgres: a point-in-time restore needs the WAL archive (the `archive` knob on)")
        if not archived:
            return f"base backup {artifact.path.name} laid down (no WAL archive: data as of the backup's end)"
        target_lines = [f"recovery_target_time = '{until.isoformat()}'"] if until else []
        conf = [f"restore_command = 'test -f {wal}/%f.gz && gunzip < {wal}/%f.gz > %p'",
                "recovery_target_timeline = 'latest'", "recovery_target_action = 'promote'", *target_lines]
        with open(data / "postgresql.auto.conf", "a") as out:
            out.write("\n# restore by the sandbox\n" + "\n".join(conf) + "\n")
        (data / "recovery.signal").touch()
        shutil.chown(data / "recovery.signal", *(("postgres", "postgres") if os.geteuid() == 0 else (None, None)))
        return (f"base backup {artifact.path.name} + WAL archive replayed "
                + (f"to {until.isoformat()}" if until else "to its end"))

    def restore_online(self, target: BackupTarget, artifact: BackupArtifact, timeout_s: float) -> str:
        """Wait until recovery is over (the server promoted): then it takes writes and reads see restored data."""
        began, deadline = time.perf_counter(), time.perf_counter() + timeout_s
        while True:
            proc = subprocess.run([*_as_postgres(), str(bindir() / "psql"), "-h", str(target.root / "sock"), "-p",
                                   str(target.port), "-U", _login(target), "-d", "sandbox", "-Atc",
                                   "SELECT pg_is_in_recovery()"], capture_output=True, text=True)
            if proc.returncode == 0 and proc.stdout.strip() == "f":
                return f"out of recovery after {time.perf_counter() - began:.2f} s"
            if time.perf_counter() > deadline:
                raise SandboxError(f"postgres: still in recovery after {timeout_s:g} s")
            time.sleep(0.05)

    def flush_archive(self, target: BackupTarget) -> str:
        """Switch to a new WAL segment and wait until the one before is archived, so the archive covers now
        (a point-in-time restore to a moment past the archive's end would fail)."""
        sql = "SELECT pg_walfile_name(pg_switch_wal())"
        proc = subprocess.run([*_as_postgres(), str(bindir() / "psql"), "-h", str(target.root / "sock"), "-p",
                               str(target.port), "-U", _login(target), "-d", "sandbox", "-Atc", sql],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            raise SandboxError(f"postgres: pg_switch_wal failed: {proc.stderr.strip()[:200]}")
        segment = proc.stdout.strip()
        wanted = wal_archive(target.root) / f"{segment}.gz"
        deadline = time.perf_counter() + ARCHIVE_WAIT_S
        while not wanted.exists():
            if time.perf_counter() > deadline:
                raise SandboxError(f"postgres: segment {segment} not archived within {ARCHIVE_WAIT_S:g} s")
            time.sleep(0.05)
        return f"archived through {segment}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
