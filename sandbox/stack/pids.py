"""Which server processes a native stack started (stack.json, by PID and the kernel's start time), and how
one of them is stopped or signalled.

A PID alone is not enough: after a process exits its PID can be reused, so a record also keeps the
process's start time, and a process counts as ours only while both match.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from signal import Signals
from typing import Any

import psutil


class ProcessRecords:
    """stack.json. Several writers may change it at once (stores started in parallel threads, a trial's child
    process restarting a server): each change is a read-modify-write under an exclusive lock on a file beside
    it, written through a temporary file of the writer's own, so none is lost and none trips over another's."""

    def __init__(self, path: Path):
        self.path = path

    @contextlib.contextmanager
    def _changing(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.with_name(self.path.name + ".lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
            yield

    def all(self) -> dict[str, dict[str, Any]]:
        if not self.path.exists():
            return {}
        return json.loads(self.path.read_text()).get("stores", {})

    def add(self, store: str, pid: int, port: int, log: Path) -> int | None:
        started = start_time(pid)
        with self._changing():
            records = self.all()
            records[store] = {"pid": pid, "started": started, "port": port, "log": str(log)}
            self._save(records)
        return started

    def forget(self, store: str) -> None:
        with self._changing():
            records = self.all()
            if records.pop(store, None) is not None:
                self._save(records)

    def started(self, store: str) -> int | None:
        return self.all().get(store, {}).get("started")

    def pid(self, store: str) -> int | None:
        """The recorded PID if that process is still ours and alive."""
        rec = self.all().get(store)
        if not rec:
            return None
        pid = int(rec["pid"])
        return pid if is_ours(pid, rec["started"]) else None

    def _save(self, records: dict[str, dict[str, Any]]) -> None:
        tmp = self.path.with_name(f"{self.path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_text(json.dumps({"backend": "native", "stores": records}, indent=2))
        tmp.replace(self.path)


def start_time(pid: int) -> int | None:
    """The kernel's start time of a live process, in clock ticks since boot; None once it is gone.

    Gone means every thread: a killed server's main thread shows as a zombie while its other threads are
    still exiting, and they hold its open files, the listening socket too (seen here: a Redis port still
    accepting in 31 of 40 kills at that moment, so a restart found its port taken)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        if fields[0] in ("Z", "X") and len(os.listdir(f"/proc/{pid}/task")) <= 1:
            return None
    except OSError:
        return None
    return int(fields[19])


def is_ours(pid: int, started: int | None) -> bool:
    """Alive, and the same process we started: a reused PID has another start time.

    (Command lines are no guide: Redis rewrites its process title.)"""
    return started is not None and start_time(pid) == started


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex((host, port)) == 0


def wait_port(port: int, is_open: bool, timeout_s: float, host: str = "127.0.0.1") -> bool:
    """Wait until the port is open (or closed); False if it did not happen in time."""
    deadline = time.monotonic() + timeout_s
    while port_open(port, host) != is_open:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def stop_process(pid: int, started: int | None, stop_signal: Signals, timeout_s: float) -> None:
    """Ask the process to stop with its server's own stop signal; SIGKILL it if it is still ours after
    timeout_s. Returns once it is gone."""
    os.kill(pid, stop_signal)
    deadline = time.monotonic() + timeout_s
    while is_ours(pid, started) and time.monotonic() < deadline:
        time.sleep(0.05)
    if is_ours(pid, started):
        os.kill(pid, signal.SIGKILL)
        while is_ours(pid, started):
            time.sleep(0.05)


def signal_tree(pid: int, started: int | None, sig: Signals) -> list[int]:
    """Send SIGKILL, SIGSTOP or SIGCONT to a server and its child processes; the PIDs signalled, the
    server's first. For SIGKILL it returns once all of them are gone.

    For SIGKILL and SIGSTOP the server is stopped first: a PostgreSQL postmaster would otherwise fork a
    backend for a reconnecting client between our look at its children and its own death, and that orphan
    would hold the shared memory and block the restart.
    """
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
        os.kill(pid, sig)
        while is_ours(pid, started):
            time.sleep(0.01)
        psutil.wait_procs(children, timeout=10)
    return [pid, *(c.pid for c in children)]
