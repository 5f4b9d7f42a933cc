"""(d) Memory: the workload streams, so peak RSS must not grow with the order count (goal <= 1.5x)."""

from __future__ import annotations

from bench.noop import child
from bench.repeats import Samples


def line(big: int, small: int, big_rss: Samples) -> str:
    """Peak RSS of generating and writing `big` orders (the noop bench's runs) vs `small`, in one line."""
    small_rss = child(small, "generate")["rss_mb"]
    growth = (big_rss.median or 0.0) / small_rss
    return (f"Memory: peak RSS {big_rss.median:.1f} MB for {big:,} generated orders vs {small_rss:.1f} MB for "
            f"{small:,}: {growth:.2f}x (goal <= 1.5x: {'met' if growth <= 1.5 else 'NOT met'}; the stream is "
            "never held in memory).")
