"""A store's data directory on a small disk: a size-limited tmpfs mounted over it in a private mount namespace.

Native backend, root only (mounting needs CAP_SYS_ADMIN) with util-linux's unshare and nsenter. A holder
process (`unshare -m --propagation private`, which mounts the tmpfs and then sleeps) keeps the namespace;
the store's server is started inside it (its launcher run through nsenter: ns_launch.py), so only that
server sees the tmpfs. Everywhere else the store's usual data directory is untouched, and the tmpfs goes
away with the holder. From outside, paths on the small disk are reached through /proc/<holder>/root.
Space runs out for real: a filler file leaves only `headroom` bytes free; deleting it (or growing the
tmpfs) gives the space back.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from sandbox.errors import UsageError
from sandbox.stack.pids import ProcessRecords, stop_process
from sandbox.stores.launch import LaunchContext

SUFFIX = "@small-disk"  # the holder's key in the stack's process records
FILLER = "disk-filler.tmp"
MOUNT_TIMEOUT_S = 10.0
BLOCK = 1 << 20


def unavailable() -> str | None:
    """Why this machine cannot give a store a small disk, or None when it can."""
    if os.geteuid() != 0:
        return "it needs root (a tmpfs mounted in a private mount namespace)"
    for binary in ("unshare", "nsenter", "mount"):
        if shutil.which(binary) is None:
            return f"{binary} not found: apt-get install -y util-linux mount"
    probe = subprocess.run(["unshare", "-m", "--propagation", "private", "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        why = (probe.stderr.strip().splitlines() or ["no output"])[-1]
        return f"unshare -m is not allowed here ({why}; a container without CAP_SYS_ADMIN?)"
    return None


@dataclass(frozen=True)
class SmallDisk:
    store: str
    holder: int  # the process that keeps the mount namespace
    directory: Path  # the store's data directory, as the server sees it

    def inside(self, path: Path | None = None) -> Path:
        """A path on the small disk, reachable from outside the namespace."""
        return Path(f"/proc/{self.holder}/root") / (path or self.directory).relative_to("/")

    def usage(self) -> tuple[int, int]:
        """(size, free) in bytes, as the tmpfs reports them."""
        st = os.statvfs(self.inside())
        return st.f_blocks * st.f_frsize, st.f_bavail * st.f_frsize

    def fill(self, headroom: int) -> int:
        """Write a filler file until only `headroom` bytes are free; returns its size."""
        want = self.usage()[1] - headroom
        block, written = bytes(BLOCK), 0
        with open(self.inside(self.directory / FILLER), "wb") as out:
            while written < want:
                written += out.write(block[: min(BLOCK, want - written)])
        return written

    def free(self) -> int:
        """Delete the filler file: its space returns at once. Returns the bytes freed."""
        filler = self.inside(self.directory / FILLER)
        size = filler.stat().st_size if filler.exists() else 0
        filler.unlink(missing_ok=True)
        return size

    def resize(self, size: int) -> None:
        subprocess.run(["nsenter", "-t", str(self.holder), "-m", "mount", "-o", f"remount,size={size}",
                        str(self.directory)], check=True, capture_output=True)

    def launch(self, store: str, ctx: LaunchContext) -> int:
        """Run the store's launcher inside the namespace; the PID of the server it started."""
        spec = {"store": store, "root": str(ctx.root), "port": ctx.port, "log": str(ctx.log),
                "secrets": dict(ctx.secrets), "durability": dict(ctx.durability)}
        proc = subprocess.run(["nsenter", "-t", str(self.holder), "-m", "--", sys.executable, "-m",
                               "sandbox.stack.ns_launch"], input=json.dumps(spec), capture_output=True, text=True)
        if proc.returncode != 0:  # secrets went through stdin, never onto a command line
            raise UsageError(f"{store} on its small disk: " + ((proc.stderr.strip().splitlines() or ["failed"])[-1]))
        return int(proc.stdout.split()[-1])


class SmallDisks:
    """The small disks of one native stack, kept in its process records so any later command finds them."""

    def __init__(self, records: ProcessRecords):
        self.records = records

    def of(self, store: str) -> SmallDisk | None:
        rec = self.records.all().get(store + SUFFIX)
        if not rec or self.records.pid(store + SUFFIX) is None:
            return None
        return SmallDisk(store, int(rec["pid"]), Path(rec["log"]))

    def mount(self, store: str, directory: Path, size: int) -> SmallDisk:
        directory.mkdir(parents=True, exist_ok=True)
        script = (f"mount -t tmpfs -o size={size},mode=0755 sandbox-small-disk {directory} "
                  "&& exec sleep infinity")
        proc = subprocess.Popen(["unshare", "-m", "--propagation", "private", "sh", "-c", script],
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                text=True, start_new_session=True)
        deadline = time.monotonic() + MOUNT_TIMEOUT_S
        while not _mounted(proc.pid, directory):
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                err = (proc.stderr.read() if proc.stderr else "").strip().splitlines() or ["timed out"]
                raise UsageError(f"cannot mount a tmpfs for {store} in a private mount namespace: {err[-1]}")
            time.sleep(0.02)
        self.records.add(store + SUFFIX, proc.pid, 0, directory)  # "log": where the tmpfs is mounted
        return SmallDisk(store, proc.pid, directory)

    def release(self, store: str) -> bool:
        """End the holder (stop the server first): the namespace and its tmpfs go with it."""
        key = store + SUFFIX
        pid = self.records.pid(key)
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):  # gone already
                stop_process(pid, self.records.started(key), signal.SIGKILL, 0)
        self.records.forget(key)
        return pid is not None

    def stores(self) -> list[str]:
        return [k.removesuffix(SUFFIX) for k in self.records.all() if k.endswith(SUFFIX)]


def _mounted(pid: int, directory: Path) -> bool:
    try:
        mounts = Path(f"/proc/{pid}/mounts").read_text().splitlines()
    except OSError:
        return False
    return any(line.split()[1] == str(directory) and line.split()[2] == "tmpfs" for line in mounts)
