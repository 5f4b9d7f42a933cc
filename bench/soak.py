"""(f) Soak: a long `sandbox run --rate R --duration S` must keep the client's memory and open files flat.

The real command runs as a child process; its RSS and open file descriptors are sampled every second
during the write phase (the read-back and report after it are left out), and the slope after the first
fifth (start-up, pools filling) is fitted by least squares. A leak shows as a steady climb: MB or fds
per minute well above zero.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

import psutil

SAMPLE_S = 1.0
# Goals (printed with the measurement, never tests): over the measured 8 minutes of a 10-minute soak,
# at most 2 MB more RSS and not one more open file. Python's allocator and the GC's sawtooth move RSS
# by a few MB from second to second; the fitted slope over ~480 samples sees through that.
RSS_GOAL_MB_MIN = 0.25
FD_GOAL_MIN = 0.1


def verdict(slope: float, goal: float, unit: str) -> str:
    return f"<= {goal:g} {unit}: {'met (flat)' if slope <= goal else 'NOT met (grows)'}"


def section(seconds: float, rate: float, stores: str = "redis,postgres") -> str:
    """A markdown section for bench/out/results.md."""
    argv = [sys.executable, "-m", "sandbox", "run", "orders", "--stores", stores, "--rate", str(rate),
            "--duration", str(seconds), "--concurrency", "8"]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=dict(os.environ))
    child = psutil.Process(proc.pid)
    times: list[float] = []
    rss_mb: list[float] = []
    fds: list[int] = []
    started = time.monotonic()
    while proc.poll() is None and time.monotonic() - started < seconds:
        try:
            rss, open_fds = child.memory_info().rss / 2**20, child.num_fds()
        except psutil.NoSuchProcess:
            break
        times.append((time.monotonic() - started) / 60)
        rss_mb.append(rss)
        fds.append(open_fds)
        time.sleep(SAMPLE_S)
    _, err = proc.communicate(timeout=seconds + 600)
    if proc.returncode != 0:
        raise SystemExit(f"soak run failed (exit {proc.returncode}): {err.strip()[-300:]}")
    skip = len(times) // 5
    if len(times) - skip < 3:
        raise SystemExit("soak run too short to fit a slope: give it at least 20 s")
    t, m, f = times[skip:], rss_mb[skip:], [float(n) for n in fds[skip:]]
    rss_slope = statistics.linear_regression(t, m).slope
    fd_slope = statistics.linear_regression(t, f).slope
    return (f"## (f) soak: `sandbox run orders --stores {stores} --rate {rate:g} --duration {seconds:.0f}`\n\n"
            "| client | start | end | max | slope after the first fifth | goal |\n|---|---:|---:|---:|---:|---|\n"
            f"| RSS (MB) | {m[0]:.0f} | {m[-1]:.0f} | {max(rss_mb):.0f} | {rss_slope:+.2f} MB/min "
            f"| {verdict(rss_slope, RSS_GOAL_MB_MIN, 'MB/min')} |\n"
            f"| open fds | {int(f[0])} | {int(f[-1])} | {max(fds)} | {fd_slope:+.2f} /min "
            f"| {verdict(fd_slope, FD_GOAL_MIN, '/min')} |\n"
            f"\n{len(t)} samples over {t[-1] - t[0]:.1f} min; where memory grows: `python -m bench.soak_trace` "
            "(docs/measurement.md, \"Soak\").\n")
