"""(d) Memory: the workload streams, so peak RSS must not grow with the order count (goal <= 1.5x)."""

from __future__ import annotations

from bench.common import Row


def rows(big: int, small: int, small_run: dict[str, float], big_run: dict[str, float]) -> list[Row]:
    """From the no-op runs with generation (bench/noop.py), each measured in its own process."""
    return [Row(f"(d) peak RSS, {big:,} orders vs {small:,} (must stream: <= 1.5x)", big_run["rss_mb"],
                small_run["rss_mb"], "MB", None, "ratio here is memory growth: lower is better, goal <= 1.5")]
