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


@dataclass(frozen=True)
class Sample:
    """One run of a side: its throughput; the client process's CPU time per unit of work (µs), which other
    processes on a shared machine disturb far less than the wall clock; what the server was asked per unit, by
    its own counters (bench/common.py `server_calls`)."""

    rate: float
    cpu_us: float | None = None
    calls_per_unit: float | None = None


# What one run of a side returns: its throughput, (throughput, CPU per unit), or a whole Sample.
SideResult = float | tuple[float, float] | Sample


def as_sample(result: SideResult) -> Sample:
    if isinstance(result, Sample):
        return result
    return Sample(*result) if isinstance(result, tuple) else Sample(result)


@dataclass
class Samples:
    """Throughputs measured for one side of a benchmark, one per repeat (and the client's CPU per unit)."""

    values: list[float] = field(default_factory=list)
    cpu_us: list[float] = field(default_factory=list)
    calls: list[float] = field(default_factory=list)  # server calls per unit, where the server counts them

    @property
    def calls_median(self) -> float | None:
        return statistics.median(self.calls) if self.calls else None

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


WIN_MARGIN = 1.1  # a client library replaces the default only by this much (issue 22's rule)


def clear_win(alt: Samples, current: Samples, margin: float = WIN_MARGIN) -> bool:
    """A clear win: the alternative's slowest repeat beat the current side's fastest, and its median by `margin`.
    With 3 repeats a side, "every repeat faster" alone happens by chance once in 20 comparisons."""
    return (bool(alt.values and current.values) and min(alt.values) > max(current.values)
            and alt.median is not None and current.median is not None and alt.median >= margin * current.median)


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
        got, into = as_sample(await sides[name]()), samples[name]
        into.values.append(got.rate)
        if got.cpu_us is not None:
            into.cpu_us.append(got.cpu_us)
        if got.calls_per_unit is not None:
            into.calls.append(got.calls_per_unit)
    return samples
