"""Where a soak's memory goes: the real `sandbox run orders` in this process, under tracemalloc.

A thread samples, every `--every` seconds of the write phase, the process's RSS and the memory Python's allocator hands
out (tracemalloc's traced total); at the end it compares the snapshot after the first fifth with the
last one, grouped by traceback, and prints the biggest growths. Python objects that pile up show in
both columns and in the table; RSS climbing while the traced total stays flat is the C allocator
(glibc arenas, fragmentation) or C extensions' own memory, not Python objects.

    python -m bench.soak_trace [--rate 500] [--duration 120] [--every 10] [--frames 6] [--trim]
        [-- extra `sandbox run` options]

--trim calls glibc's malloc_trim(0) after each sample, to show how much of the RSS is free memory the
allocator kept. tracemalloc slows the client (several times per allocation): use a rate it still
keeps (the run's table says if it fell behind).
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import sys
import threading
import time
import tracemalloc

import psutil

from sandbox.cli import main as sandbox_main


def _trimmer() -> object | None:
    name = ctypes.util.find_library("c")
    libc = ctypes.CDLL(name) if name else None
    return getattr(libc, "malloc_trim", None)


def sample(every: float, until: float, kept: dict[str, tuple[float, tracemalloc.Snapshot]], lines: list[str],
           trim: bool, stop: threading.Event) -> None:
    """Samples until `until` s; keeps two snapshots only (the one after the first fifth and the latest):
    a snapshot holds every trace, and a list of them would be the biggest growth of all."""
    process = psutil.Process()
    trimmer = _trimmer() if trim else None
    started = time.monotonic()
    while not stop.wait(every):
        elapsed = time.monotonic() - started
        if elapsed > until:
            return  # the write phase is over: the read-back and comparison are not the soak
        traced, _ = tracemalloc.get_traced_memory()
        rss = process.memory_info().rss / 2**20
        kept["first" if "first" not in kept and elapsed >= until / 5 else "last"] = (
            elapsed, tracemalloc.take_snapshot())
        trimmed = ""
        if trimmer is not None:
            trimmer(0)  # type: ignore[operator]
            trimmed = f"  after malloc_trim {process.memory_info().rss / 2**20:7.1f} MB"
        lines.append(f"{elapsed:6.0f} s  RSS {rss:7.1f} MB  traced {traced / 2**20:7.2f} MB  tracemalloc's own "
                     f"{tracemalloc.get_tracemalloc_memory() / 2**20:6.1f} MB{trimmed}")
        print(lines[-1], file=sys.stderr, flush=True)


def report(kept: dict[str, tuple[float, tracemalloc.Snapshot]], lines: list[str], top: int) -> None:
    print("\n".join(["", "samples:", *lines]))
    if "first" not in kept or "last" not in kept:
        print("too few samples to compare: run longer or sample more often")
        return
    (t0, first), (t1, last) = kept["first"], kept["last"]
    keep = tracemalloc.Filter(False, tracemalloc.__file__)
    diff = last.filter_traces([keep]).compare_to(first.filter_traces([keep]), "traceback")
    print(f"\ngrowth from {t0:.0f} s to {t1:.0f} s, by traceback (top {top}):")
    for stat in diff[:top]:
        print(f"\n{stat.size_diff / 2**10:+9.1f} kB  {stat.count_diff:+8d} blocks  (now {stat.size / 2**10:.1f} kB)")
        for frame in stat.traceback.format()[-12:]:
            print("   ", frame)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.soak_trace", description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rate", type=float, default=500.0)
    parser.add_argument("--duration", type=float, default=120.0)
    parser.add_argument("--every", type=float, default=10.0)
    parser.add_argument("--frames", type=int, default=6)
    parser.add_argument("--top", type=int, default=12)
    parser.add_argument("--stores", default="redis,postgres")
    parser.add_argument("--trim", action="store_true", help="malloc_trim(0) after each sample")
    args, extra = parser.parse_known_args()
    tracemalloc.start(args.frames)
    kept: dict[str, tuple[float, tracemalloc.Snapshot]] = {}
    lines: list[str] = []
    stop = threading.Event()
    thread = threading.Thread(target=sample, args=(args.every, args.duration, kept, lines, args.trim, stop),
                              daemon=True)
    sys.argv = ["sandbox", "run", "orders", "--stores", args.stores, "--rate", f"{args.rate:g}",
                "--duration", f"{args.duration:g}", "--concurrency", "8", *[a for a in extra if a != "--"]]
    thread.start()
    try:
        sandbox_main()
    except SystemExit:
        pass
    finally:
        stop.set()
        thread.join()
        report(kept, lines, args.top)


if __name__ == "__main__":
    main()
