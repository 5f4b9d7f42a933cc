"""The native backend: the five stores as local server processes on loopback.

Every process is started inside the state directory, recorded in stack.json by PID and the
kernel's start time for that PID, and stopped by that PID only (never by name), so `down` cannot
touch anything it did not start, even after the PID has been reused.
PostgreSQL, Redis and InfluxDB are the real servers from the OS packages; MongoDB and
Elasticsearch are the protocol-compatible stand-ins from PyPI (see README, "Backends").
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psutil

from sandbox.config import STORE_NAMES, Workspace
from sandbox.errors import UsageError

READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 20.0

INSTALL_HINT = {
    "postgres": "apt-get install -y postgresql-15 postgresql-contrib",
    "redis": "apt-get install -y redis-server",
    "influx": "apt-get install -y influxdb",
    "mongo": "pip install -e '.[native]'  (installs secantusdb)",
    "elastic": "pip install -e '.[native]'  (installs osmem-server)",
}


@dataclass
class Durability:
    """Per-store durability knobs the native servers are started with (shown in reports)."""

    postgres_fsync: bool = True
    postgres_synchronous_commit: str = "on"
    redis_appendonly: bool = True
    redis_appendfsync: str = "everysec"
    mongo_sync_on_commit: bool = False

    def describe(self, store: str) -> str:
        return {
            "postgres": f"fsync={'on' if self.postgres_fsync else 'off'}, "
                        f"synchronous_commit={self.postgres_synchronous_commit}",
            "redis": f"appendonly={'yes' if self.redis_appendonly else 'no'}"
                     + (f", appendfsync={self.redis_appendfsync}" if self.redis_appendonly else ""),
            "mongo": f"sync-on-commit={'on' if self.mongo_sync_on_commit else 'off'} (SecantusDB)",
            "elastic": "in-memory emulator (osmem): nothing survives a restart",
            "influx": "WAL on (InfluxDB 1.x default, wal-fsync-delay=0s)",
        }[store]


class NativeStack:
    """Starts, stops and signals the native server processes of one state directory."""

    def __init__(self, ws: Workspace, secrets: dict[str, str], durability: Durability | None = None):
        self.ws = ws
        self.state_dir = ws.state_dir
        self.secrets = secrets
        self.durability = durability or Durability()
        self.record_path = self.state_dir / "stack.json"

    # -- bookkeeping -------------------------------------------------------------------------
    def _records(self) -> dict[str, dict]:
        if not self.record_path.exists():
            return {}
        return json.loads(self.record_path.read_text()).get("stores", {})

    def _save(self, records: dict[str, dict]) -> None:
        self.record_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.record_path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"backend": "native", "stores": records}, indent=2))
        tmp.replace(self.record_path)

    def store_dir(self, store: str) -> Path:
        if store == "postgres":
            return self._postgres_dir()
        return self.state_dir / "native" / store

    def _postgres_dir(self) -> Path:
        """PostgreSQL's folder: in the state dir, unless (as root) the postgres user cannot reach it.

        A clone inside a mode-700 folder (mktemp -d, as CI uses) is out of the postgres user's reach;
        then the cluster lives in a folder of its own under /var/tmp, named after the state dir, and
        `purge` removes it with the rest.
        """
        inside = self.state_dir / "native" / "postgres"
        if os.geteuid() != 0:
            return inside
        inside.parent.mkdir(parents=True, exist_ok=True)
        probe = subprocess.run(["runuser", "-u", "postgres", "--", "test", "-x", str(inside.parent)])
        if probe.returncode == 0:
            return inside
        digest = hashlib.sha1(str(self.state_dir).encode()).hexdigest()[:12]
        return Path("/var/tmp/polyglot-sandbox") / digest / "postgres"

    def pid(self, store: str) -> int | None:
        """The recorded PID if that process is still ours and alive."""
        rec = self._records().get(store)
        if not rec:
            return None
        pid = int(rec["pid"])
        return pid if _is_ours(pid, rec["started"]) else None

    def running(self) -> dict[str, int]:
        return {s: p for s in STORE_NAMES if (p := self.pid(s)) is not None}

    # -- lifecycle ---------------------------------------------------------------------------
    def up(self, stores: list[str]) -> list[str]:
        """Start the stores not yet running; on any failure stop what this call started."""
        started: list[str] = []
        try:
            for store in stores:
                if self.pid(store) is None:
                    self.start(store)
                    started.append(store)
        except BaseException:
            for store in reversed(started):
                self.stop(store)
            raise
        return started

    def down(self) -> list[str]:
        stopped = [s for s in STORE_NAMES if self._records().get(s) and self.stop(s)]
        if self.record_path.exists() and not self._records():
            self.record_path.unlink()
        return stopped

    def purge(self) -> None:
        """Stop every store and delete all the data this stack created (tests use throwaway stacks)."""
        self.down()
        pg = self._postgres_dir()
        shutil.rmtree(self.state_dir, ignore_errors=True)
        if not pg.is_relative_to(self.state_dir):
            shutil.rmtree(pg.parent, ignore_errors=True)

    def start(self, store: str) -> int:
        """Start one store on its data directory (reused if present) and wait until it answers."""
        port = self.ws.port(store)
        if _port_open(port):
            raise UsageError(
                f"port {port} for {store} is already in use by a process the sandbox did not start: "
                f"stop it, or point the sandbox at it with SANDBOX_{store.upper()}_URL"
            )
        root = self.store_dir(store)
        root.mkdir(parents=True, exist_ok=True)
        log = root / "server.log"
        launcher: Callable[[Path, int, Path], int] = getattr(self, f"_start_{store}")
        pid = launcher(root, port, log)
        started = _start_time(pid)
        records = self._records()
        records[store] = {"pid": pid, "started": started, "port": port, "log": str(log)}
        self._save(records)
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not _port_open(port):
            if not _is_ours(pid, started):
                self._forget(store)
                raise UsageError(f"{store} exited during start-up; see its log: {log}")
            if time.monotonic() > deadline:
                self.stop(store)
                raise UsageError(f"{store} did not answer on port {port} within {READY_TIMEOUT_S:.0f} s; "
                                 f"see its log: {log}")
            time.sleep(0.05)
        return pid

    def stop(self, store: str, sig: signal.Signals = signal.SIGTERM) -> bool:
        """Stop a store by its recorded PID; True if a process was stopped."""
        pid = self.pid(store)
        if pid is None:
            self._forget(store)
            return False
        if store == "postgres" and sig == signal.SIGTERM:
            sig = signal.SIGINT  # PostgreSQL's "fast" shutdown; SIGTERM waits for clients to leave
        os.kill(pid, sig)
        started = self._records()[store]["started"]
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while _is_ours(pid, started) and time.monotonic() < deadline:
            time.sleep(0.05)
        if _is_ours(pid, started):
            os.kill(pid, signal.SIGKILL)
            while _is_ours(pid, started):
                time.sleep(0.05)
        if store == "postgres":
            _wait_port_closed(self.ws.port(store))
        self._forget(store)
        return True

    def signal(self, store: str, sig: signal.Signals) -> list[int]:
        """Send SIGKILL, SIGSTOP or SIGCONT to a running store's server and its child processes.

        Returns the PIDs signalled, the server's first. For SIGKILL and SIGSTOP the server is stopped
        first: a PostgreSQL postmaster would otherwise fork a backend for a reconnecting client between
        our look at its children and its own death, and that orphan would hold the shared memory and
        block the restart.
        """
        pid = self.pid(store)
        if pid is None:
            raise UsageError(f"{store} is not running on the native backend; start it with `sandbox up`")
        if sig != signal.SIGCONT:
            os.kill(pid, signal.SIGSTOP)
        try:
            children = psutil.Process(pid).children(recursive=True)
        except psutil.NoSuchProcess:
            children = []
        if sig != signal.SIGKILL:
            os.kill(pid, sig)
        for child in children:
            with contextlib.suppress(psutil.NoSuchProcess):
                child.send_signal(sig)  # psutil checks the child's identity (create time) first
        if sig == signal.SIGKILL:
            started = self._records()[store]["started"]
            os.kill(pid, sig)
            while _is_ours(pid, started):
                time.sleep(0.01)
            psutil.wait_procs(children, timeout=10)
            self._forget(store)
        return [pid, *(c.pid for c in children)]

    def _forget(self, store: str) -> None:
        records = self._records()
        if records.pop(store, None) is not None:
            self._save(records)

    # -- one launcher per store: starts the server and returns its PID ---------------------
    def _start_postgres(self, root: Path, port: int, log: Path) -> int:
        bindir = _postgres_bindir()
        data, sock = root / "data", root / "sock"
        as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if not (data / "PG_VERSION").exists():
            shutil.rmtree(data, ignore_errors=True)
            _own_dir(data, 0o700)
            pwfile = root / "pwfile"
            pwfile.write_text(self.secrets["POSTGRES_PASSWORD"] + "\n")
            _chown_postgres(pwfile)
            try:
                _run([*as_postgres, str(bindir / "initdb"), "-D", str(data), "-U", "sandbox", "-E", "UTF8",
                      "--auth-local=trust", "--auth-host=scram-sha-256", f"--pwfile={pwfile}"], "initdb")
            finally:
                pwfile.unlink()
        _own_dir(sock, 0o755)
        log.touch()
        _chown_postgres(log)
        d = self.durability
        opts = (f"-c listen_addresses=127.0.0.1 -p {port} -k {sock} "
                f"-c shared_preload_libraries=pg_stat_statements -c fsync={'on' if d.postgres_fsync else 'off'} "
                f"-c synchronous_commit={d.postgres_synchronous_commit} -c max_connections=200")
        _run([*as_postgres, str(bindir / "pg_ctl"), "start", "-w", "-t", "60", "-D", str(data),
              "-l", str(log), "-o", opts], "pg_ctl start")
        created = root / ".db-created"
        if not created.exists():
            _run([*as_postgres, str(bindir / "createdb"), "-h", str(sock), "-p", str(port), "-U", "sandbox",
                  "sandbox"], "createdb")
            created.touch()
        return int((data / "postmaster.pid").read_text().split()[0])

    def _start_redis(self, root: Path, port: int, log: Path) -> int:
        binary = _which("redis-server", "redis")
        conf = root / "redis.conf"
        d = self.durability
        # The password goes into a mode-600 file, not onto a command line anyone can read in ps.
        conf.write_text("\n".join([
            "bind 127.0.0.1", f"port {port}", "daemonize no", f"dir {root}", f"logfile {log}",
            f"requirepass {self.secrets['REDIS_PASSWORD']}",
            f"appendonly {'yes' if d.redis_appendonly else 'no'}", f"appendfsync {d.redis_appendfsync}",
            'save ""',  # RDB snapshots would blur what AOF does and does not keep
        ]) + "\n")
        conf.chmod(0o600)
        return _spawn([binary, str(conf)], log)

    def _start_influx(self, root: Path, port: int, log: Path) -> int:
        binary = _which("influxd", "influx")
        conf = root / "influxdb.conf"
        conf.write_text(f"""reporting-disabled = true
bind-address = "127.0.0.1:{port + 2}"
[meta]
  dir = "{root / 'meta'}"
[data]
  dir = "{root / 'data'}"
  wal-dir = "{root / 'wal'}"
  query-log-enabled = false
[http]
  bind-address = "127.0.0.1:{port}"
  log-enabled = false
[monitor]
  store-enabled = false
""")
        return _spawn([binary, "run", "-config", str(conf)], log)

    def _start_mongo(self, root: Path, port: int, log: Path) -> int:
        binary = shutil.which("secantusd-py", path=f"{Path(sys.executable).parent}{os.pathsep}"
                                                   f"{os.environ.get('PATH', '')}")
        if binary is None:
            raise UsageError(f"secantusd-py (MongoDB stand-in) not found: {INSTALL_HINT['mongo']}")
        data = root / "data"
        argv = [binary, "--host", "127.0.0.1", "--port", str(port), "--storage-path", str(data),
                "--log-level", "WARNING"]
        if self.durability.mongo_sync_on_commit:
            argv.append("--sync-on-commit")
        return _spawn(argv, log)

    def _start_elastic(self, root: Path, port: int, log: Path) -> int:
        spec = importlib.util.find_spec("osmem_server")
        binary = Path(spec.origin).parent / "bin" / "osmem-server" if spec and spec.origin else None
        if binary is None or not binary.exists():
            raise UsageError(f"osmem-server (Elasticsearch stand-in) not found: {INSTALL_HINT['elastic']}")
        # -no-stdin-watch: it would exit when our stdin closes; -no-ja: 300 MB -> 18 MB of memory.
        return _spawn([str(binary), "-addr", f"127.0.0.1:{port}", "-no-stdin-watch", "-no-ja"], log)


def _spawn(argv: list[str], log: Path) -> int:
    with open(log, "ab") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)  # outlives the CLI; stopped by PID later
    return proc.pid


def _run(argv: list[str], what: str) -> None:
    proc = subprocess.run(argv, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        raise UsageError(f"{what} failed (exit {proc.returncode}): {tail[0]}")


def _which(name: str, store: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise UsageError(f"{name} not found on PATH: install it ({INSTALL_HINT[store]}) or run `make up`")
    return found


def _postgres_bindir() -> Path:
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"),
                        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0)
    if candidates:
        return candidates[-1].parent
    found = shutil.which("pg_ctl")
    if found is None:
        raise UsageError(f"PostgreSQL server binaries (pg_ctl) not found: {INSTALL_HINT['postgres']}")
    return Path(found).parent


def _own_dir(path: Path, mode: int) -> None:
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(mode)
    _chown_postgres(path)


def _chown_postgres(path: Path) -> None:
    # PostgreSQL refuses to run as root, so as root its files belong to the postgres user.
    if os.geteuid() == 0:
        shutil.chown(path, "postgres", "postgres")


def _start_time(pid: int) -> int | None:
    """The kernel's start time of a live (non-zombie) process, in clock ticks since boot."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return None if fields[0] in ("Z", "X") else int(fields[19])


def _is_ours(pid: int, started: int | None) -> bool:
    """Alive, and the same process we started: a reused PID has another start time.

    (Command lines are no guide: Redis rewrites its process title.)"""
    return started is not None and _start_time(pid) == started


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _wait_port_closed(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while _port_open(port) and time.monotonic() < deadline:
        time.sleep(0.05)
