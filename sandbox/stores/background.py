"""What a store's server does in the background (vacuum, checkpoints, AOF rewrites, merges, compactions): the
protocol each store folder's `background.py` implements, declared on its KIND as `background`.

A probe asks the server, on a connection of its own, what runs now (a progress view, an in-progress flag) and
what finished since it last asked (a counter that went up, with the times the server gives where it gives
them). It never changes anything on the server. The sampler (sandbox/measure/background.py) asks every half
second during a run and turns the answers into windows on the timeline.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from sandbox.config import Endpoint


@dataclass(frozen=True)
class Activity:
    """One piece of background work the server reported."""

    what: str  # "autovacuum", "checkpoint", "AOF rewrite", "compaction (level 1)", ...
    detail: str = ""  # on what (a table, a shard), or how the server counted it
    start: float | None = None  # wall clock, where the server says when it began (else the sampler brackets it)
    end: float | None = None  # set: it finished since the last sample (seen through a counter)


class BackgroundProbe(Protocol):
    sees: tuple[str, ...]  # the kinds of work this server reports (for the report: what a quiet lane means)
    blind: tuple[str, ...]  # what it cannot report here, and why (a stand-in, a version without the view)

    async def sample(self) -> list[Activity]:
        """What runs now, and what finished since the last sample."""

    async def close(self) -> None: ...


OpenProbe = Callable[[Endpoint], Awaitable[BackgroundProbe]]


def went_up(now: dict[str, float], before: dict[str, float] | None) -> dict[str, float]:
    """Counters that went up since the last sample, by how much (none on the first sample, or after a restart)."""
    if before is None:
        return {}
    return {k: v - before[k] for k, v in now.items() if k in before and v > before[k]}
