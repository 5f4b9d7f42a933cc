"""Redis backups: an RDB snapshot (BGSAVE, then a copy of the file), and a copy of the AOF directory where
the server runs with appendonly; restores lay either down in the server's folder before the stack starts it.

Redis 7 with appendonly yes ignores a lone dump.rdb at start (it starts empty and writes a fresh AOF), so an
RDB is restored as the base of a one-file AOF manifest: the form Redis 7 itself writes after a rewrite.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType

import redis

from sandbox.errors import SandboxError, UsageError
from sandbox.stores.contract import BackupArtifact, BackupTarget

SAVE_TIMEOUT_S = 60.0
AOF_DIR = "appendonlydir"  # Redis 7's default appenddirname
BASE = "appendonly.aof.1.base.rdb"
MANIFEST = "appendonly.aof.manifest"


class RedisBackups:
    methods = ("rdb", "aof")
    continuous_knobs: Mapping[str, object] = MappingProxyType({})
    continuous = None  # the AOF lives in the data directory: a lost disk takes it along

    def _client(self, target: BackupTarget) -> redis.Redis:
        return redis.Redis.from_url(target.admin_url, socket_timeout=SAVE_TIMEOUT_S)  # SAVE, CONFIG: not the run's

    def take(self, target: BackupTarget, method: str) -> BackupArtifact:
        if method not in self.methods:
            raise UsageError(f"redis backup method {method!r}: choose from {', '.join(self.methods)}")
        target.backups.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%f")
        began = time.perf_counter()
        with self._client(target) as client:
            if method == "rdb":
                # Counted saves, not LASTSAVE: its one-second resolution cannot tell a save in the same second as
                # the previous one (the AOF's base at start-up) from none. SCHEDULE: after a rewrite in progress.
                before = client.info("persistence").get("rdb_saves")
                stamp_before = client.lastsave()
                client.bgsave(schedule=True)
                self._wait(client, lambda info: not info["rdb_bgsave_in_progress"] and (
                    info["rdb_saves"] > before if before is not None else client.lastsave() != stamp_before))
                if client.info("persistence")["rdb_last_bgsave_status"] != "ok":
                    raise SandboxError("redis: BGSAVE failed (see its log)")
                taken = datetime.now(UTC)  # the fork's moment is the data's; its end is a safe upper bound
                dest = target.backups / f"dump-{stamp}.rdb"
                shutil.copy2(target.root / "dump.rdb", dest)
                return BackupArtifact(target.store, method, dest, dest.stat().st_size, time.perf_counter() - began,
                                      taken, "BGSAVE, then a copy of dump.rdb")
            if not client.info("persistence")["aof_enabled"]:
                raise UsageError("redis: the aof backup needs appendonly on (durability knob redis.appendonly)")
            # No rewrite while copying: a rewrite swaps the manifest's files under the copy.
            self._wait(client, lambda info: not info["aof_rewrite_in_progress"])
            dest = target.backups / f"aof-{stamp}"
            shutil.copytree(target.root / AOF_DIR, dest)
            taken = datetime.now(UTC)
        size = sum(f.stat().st_size for f in dest.iterdir())
        return BackupArtifact(target.store, method, dest, size, time.perf_counter() - began, taken,
                              "copy of the AOF directory (appendonlydir)")

    def _wait(self, client: redis.Redis, done: object) -> None:
        deadline = time.perf_counter() + SAVE_TIMEOUT_S
        while not done(client.info("persistence")):  # type: ignore[operator]
            if time.perf_counter() > deadline:
                raise SandboxError(f"redis: background save not done within {SAVE_TIMEOUT_S:g} s")
            time.sleep(0.01)

    def destroy(self, target: BackupTarget) -> list[Path]:
        gone = [target.root / "dump.rdb", target.root / AOF_DIR]
        for path in gone:
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)
        return gone

    def restore_files(self, target: BackupTarget, artifact: BackupArtifact, until: datetime | None = None) -> str:
        if until is not None:
            raise UsageError("redis has no point-in-time restore (an RDB or an AOF copy restores as it was taken)")
        aof = target.root / AOF_DIR
        if (target.root / "dump.rdb").exists() or aof.exists():
            raise SandboxError("redis: its data files are still there; destroy them before a restore")
        if artifact.method == "aof":
            shutil.copytree(artifact.path, aof)
            return f"AOF directory {artifact.path.name} laid down"
        shutil.copy2(artifact.path, target.root / "dump.rdb")
        if target.settings.get("appendonly"):
            aof.mkdir()
            shutil.copy2(artifact.path, aof / BASE)
            (aof / MANIFEST).write_text(f"file {BASE} seq 1 type b\n")
            return f"RDB {artifact.path.name} laid down as dump.rdb and as the AOF's base"
        return f"RDB {artifact.path.name} laid down as dump.rdb"

    def restore_online(self, target: BackupTarget, artifact: BackupArtifact, timeout_s: float) -> str:
        deadline = time.perf_counter() + timeout_s
        with self._client(target) as client:
            while client.info("persistence")["loading"]:
                if time.perf_counter() > deadline:
                    raise SandboxError(f"redis: still loading after {timeout_s:g} s")
                time.sleep(0.01)
            return f"loaded, {client.dbsize()} keys"
