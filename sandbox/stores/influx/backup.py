"""InfluxDB 1.x backups of the run's database: `influxd backup -portable` through the server's RPC port, and
`influxd restore -portable` into the running (fresh) server after the data directories were lost.

The RPC address is the native launcher's (HTTP port + 2, native.py). Restore needs the server up, so the
files half only checks that the data is gone; the online half loads the backup.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType

from sandbox.errors import SandboxError, UsageError
from sandbox.stores.contract import BackupArtifact, BackupTarget
from sandbox.stores.influx.native import INSTALL_HINT
from sandbox.stores.launch import run, which

DIRS = ("meta", "data", "wal")


class InfluxBackups:
    methods = ("portable",)
    continuous = None
    continuous_knobs: Mapping[str, object] = MappingProxyType({})

    def _rpc(self, target: BackupTarget) -> str:
        return f"127.0.0.1:{target.port + 2}"

    def take(self, target: BackupTarget, method: str) -> BackupArtifact:
        if method not in self.methods:
            raise UsageError(f"influx backup method {method!r}: choose from {', '.join(self.methods)}")
        if not target.namespace:
            raise UsageError("influx: a backup is of one database: the run's namespace is needed")
        target.backups.mkdir(parents=True, exist_ok=True)
        dest = target.backups / f"portable-{datetime.now(UTC).strftime('%Y%m%dT%H%M%S.%f')}"
        began = time.perf_counter()
        run([which("influxd", INSTALL_HINT), "backup", "-portable", "-database", target.namespace, "-host",
             self._rpc(target), str(dest)], "influxd backup")
        taken = datetime.now(UTC)
        size = sum(f.stat().st_size for f in dest.rglob("*") if f.is_file())
        return BackupArtifact(target.store, method, dest, size, time.perf_counter() - began, taken,
                              f"influxd backup -portable -database {target.namespace}")

    def destroy(self, target: BackupTarget) -> list[Path]:
        gone = [target.root / d for d in DIRS]
        for path in gone:
            shutil.rmtree(path, ignore_errors=True)
        return gone

    def restore_files(self, target: BackupTarget, artifact: BackupArtifact, until: datetime | None = None) -> str:
        if until is not None:
            raise UsageError("influx 1.x has no point-in-time restore (-start/-end select data, not a moment of "
                             "the database)")
        if (target.root / "meta" / "meta.db").exists():
            raise SandboxError("influx: its meta store is still there; destroy it before a restore")
        return "data directories empty: the server starts fresh, the backup is loaded through it"

    def restore_online(self, target: BackupTarget, artifact: BackupArtifact, timeout_s: float) -> str:
        proc = subprocess.run([which("influxd", INSTALL_HINT), "restore", "-portable", "-db", target.namespace,
                               "-host", self._rpc(target), str(artifact.path)],
                              capture_output=True, text=True, timeout=timeout_s)
        if proc.returncode != 0:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
            raise SandboxError(f"influxd restore failed (exit {proc.returncode}): {tail[0]}")
        # The command returns while the server still imports: the shard answers "shard is disabled" until done.
        deadline = time.perf_counter() + timeout_s
        while (error := self._query_error(target)) is not None:
            if time.perf_counter() > deadline:
                raise SandboxError(f"influx: the restored database still answers {error!r} after {timeout_s:g} s")
            time.sleep(0.02)
        return f"influxd restore -portable -db {target.namespace}; its shards answer queries"

    def _query_error(self, target: BackupTarget) -> str | None:
        query = urllib.parse.urlencode({"db": target.namespace, "q": "SELECT * FROM /.*/ LIMIT 1"})
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{target.port}/query?{query}", timeout=5) as answer:
                doc = json.load(answer)
        except OSError as exc:
            return f"{type(exc).__name__}: {exc}"
        errors = [r.get("error") for r in doc.get("results", []) if r.get("error")]
        return errors[0] if errors else doc.get("error")
