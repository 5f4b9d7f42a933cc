"""A busy disk: a background writer forcing fsyncs on the filesystem that holds the stores' data.

Slow fsync widens the loss window of every asynchronous durability setting; the sharpest case is Redis
with `appendfsync everysec`, which postpones its AOF write (up to 2 s) while a background fsync is still
running and keeps replying to clients meanwhile (docs/faults.md). The writer appends `chunk_mb` MB to one
file of its own in the state directory, fsyncs it, and starts the file again once it reaches `cap_mb`, so
it never holds more than that; the file is removed when the writer stops. It times each of its own fsyncs:
that latency is what the disk was doing, measured, beside whatever the stores lost.

It runs in a thread: write(2) and fsync(2) release the GIL, so the event loop keeps driving the stores.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
from hdrh.histogram import HdrHistogram

from sandbox.errors import UsageError

FILE_NAME = "busy-disk.tmp"
BLOCK = 1 << 20


@dataclass(frozen=True)
class Disk:
    """The filesystem a path lives on, as the OS reports it."""

    path: str
    device: str
    fstype: str
    mountpoint: str
    free_bytes: int

    def describe(self) -> str:
        return f"{self.fstype} on {self.device} (mounted at {self.mountpoint}, {self.free_bytes / 2**30:.1f} GiB free)"


def disk_of(path: Path) -> Disk:
    real = os.path.realpath(path)
    mounts = [p for p in psutil.disk_partitions(all=True) if real == p.mountpoint or
              real.startswith(p.mountpoint.rstrip("/") + "/")]
    best = max(mounts, key=lambda p: len(p.mountpoint), default=None)
    return Disk(str(path), best.device if best else "?", best.fstype if best else "?",
                best.mountpoint if best else "?", psutil.disk_usage(real).free)


def same_device(a: Path, b: Path) -> bool:
    return os.stat(a).st_dev == os.stat(b).st_dev


@dataclass
class DiskLoad:
    """What the writer did while it ran: its own fsync latencies (ms), and any error that stopped it."""

    disk: Disk
    chunk_mb: int
    fsyncs: int = 0
    written_mb: int = 0
    seconds: float = 0.0
    fsync_ms: dict[str, float | None] | None = None
    error: str | None = None
    file_removed: bool = False

    def to_json(self) -> dict[str, Any]:
        out = dict(vars(self))
        out["disk"] = vars(self.disk)
        return out

    def brief(self) -> str:
        if not self.fsyncs:
            return f"busy disk: no fsync completed ({self.error or 'stopped at once'})"
        f = self.fsync_ms or {}
        return (f"busy disk: writer fsync p50 {f.get('p50')} / p99 {f.get('p99')} / max {f.get('max')} ms, "
                f"{self.fsyncs} fsyncs of {self.chunk_mb} MB in {self.seconds:.1f} s"
                + (f" (stopped: {self.error})" if self.error else ""))


class BusyDisk:
    """Start it, run the experiment, stop it: stop() returns the DiskLoad and removes the writer's file."""

    def __init__(self, state_dir: Path, chunk_mb: int = 8, cap_mb: int = 256):
        if chunk_mb <= 0 or cap_mb < chunk_mb:
            raise UsageError(f"busy disk: chunk {chunk_mb} MB must be positive and at most the file cap {cap_mb} MB")
        state_dir.mkdir(parents=True, exist_ok=True)
        self.path = state_dir / FILE_NAME
        self.chunk_mb, self.cap_mb = chunk_mb, cap_mb
        disk = disk_of(state_dir)
        if disk.free_bytes < 4 * cap_mb * BLOCK:
            raise UsageError(f"busy disk: only {disk.free_bytes // BLOCK} MB free on {disk.mountpoint}; the writer "
                             f"needs room for {cap_mb} MB (and the stores for theirs)")
        self.load = DiskLoad(disk, chunk_mb)
        self._hist = HdrHistogram(1, 60_000_000, 3)  # microseconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="busy-disk", daemon=True)
        self._thread.start()

    def stop(self) -> DiskLoad:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        self.load.file_removed = not self.path.exists()
        if self.load.fsyncs:
            self.load.fsync_ms = {k: round(self._hist.get_value_at_percentile(q) / 1000, 2)
                                  for k, q in (("p50", 50.0), ("p99", 99.0))}
            self.load.fsync_ms["max"] = round(self._hist.get_max_value() / 1000, 2)
        return self.load

    def _run(self) -> None:
        block = os.urandom(BLOCK)
        started = time.perf_counter()
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        except OSError as exc:
            self.load.error = f"{type(exc).__name__}: {exc}"
            return
        try:
            in_file = 0
            while not self._stop.is_set():
                if in_file + self.chunk_mb > self.cap_mb:  # start the file again: never more than cap_mb on disk
                    os.ftruncate(fd, 0)
                    os.lseek(fd, 0, os.SEEK_SET)
                    in_file = 0
                for _ in range(self.chunk_mb):
                    os.write(fd, block)
                t0 = time.perf_counter_ns()
                os.fsync(fd)
                self._hist.record_value(max(1, (time.perf_counter_ns() - t0) // 1000))
                in_file += self.chunk_mb
                self.load.fsyncs += 1
                self.load.written_mb += self.chunk_mb
        except OSError as exc:  # a full disk, for one: the experiment goes on, the load says why it stopped
            self.load.error = f"{type(exc).__name__}: {exc}"
        finally:
            os.close(fd)
            self.load.seconds = round(time.perf_counter() - started, 2)
