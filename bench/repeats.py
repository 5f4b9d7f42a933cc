"""Each benchmark's sides (sandbox, bare client, native tool) run several times in alternating order.

One sample per side says little on a shared 2-core machine: another process's burst lands on
whichever side runs then. Alternating the order (A B C, C B A, A B C, ...) spreads drift over all
sides, and the row shows the median with the spread (lowest–highest) so a noisy ratio is visible.
"""

from __future__ import annotations

import statistics
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

REPEATS = 3


# What one run of a side returns: its throughput, or its throughput and the client process's CPU time per
# unit of work (µs), which other processes on a shared machine disturb far less than the wall clock.
SideResult = float | tuple[float, float]


@dataclass
class Samples:
    """Throughputs measured for one side of a benchmark, one per repeat (and the client's CPU per unit)."""

    values: list[float] = field(default_factory=list)
    cpu_us: list[float] = field(default_factory=list)

    @property
    def cpu_median(self) -> float | None:
        return statistics.median(self.cpu_us) if self.cpu_us else None

    @property
    def median(self) -> float | None:
        return statistics.median(self.values) if self.values else None

    def spread(self) -> str:
        """lowest–highest, as a share of the median: how far to trust the median."""
        if len(self.values) < 2 or not self.median:
            return "-"
        return f"±{(max(self.values) - min(self.values)) / 2 / self.median:.0%}"

    def cell(self, digits: int = 0) -> str:
        """A table cell: the median and its spread, or "-" when nothing was measured."""
        if self.median is None:
            return "-"
        return f"{self.median:,.{digits}f} {self.spread()}".strip().replace(" -", "")


def ratio(top: Samples, bottom: Samples) -> float | None:
    """Ratio of medians (both sides repeated the same number of times, interleaved)."""
    return top.median / bottom.median if top.median and bottom.median else None


def schedule(sides: list[str], repeats: int) -> list[str]:
    """The order the sides run in: forwards, backwards, forwards, ..."""
    out: list[str] = []
    for r in range(repeats):
        out += sides if r % 2 == 0 else sides[::-1]
    return out


async def alternate(sides: Mapping[str, Callable[[], Awaitable[SideResult]]], repeats: int = REPEATS
                    ) -> dict[str, Samples]:
    """Run every side `repeats` times in alternating order; each call sets up its own fresh namespace and
    connections before its clock starts, and returns its throughput (and its CPU per unit, when measured)."""
    samples = {name: Samples() for name in sides}
    for name in schedule(list(sides), repeats):
        result = await sides[name]()
        rate, cpu = result if isinstance(result, tuple) else (result, None)
        samples[name].values.append(rate)
        if cpu is not None:
            samples[name].cpu_us.append(cpu)
    return samples
