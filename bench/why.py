"""One line per missed goal, saying why: what the profiles found (each benchmark's why_* text), and for
sandbox/bare whether the two sides' samples overlap, i.e. whether this run can tell them apart at all."""

from __future__ import annotations

from bench.common import Row
from bench.repeats import Samples


def _span(s: Samples) -> str:
    return f"{min(s.values):,.0f}–{max(s.values):,.0f}"


def _overlap(row: Row) -> str:
    """Measured: do the sandbox's and the bare loop's repeats overlap? Then the gap is within this run's noise."""
    if not row.sandbox.values or not row.bare.values:
        return ""
    if max(row.sandbox.values) >= min(row.bare.values):
        return (f"the repeats overlap (sandbox {_span(row.sandbox)}, bare {_span(row.bare)} {row.unit}): the gap "
                "is within this run's noise. ")
    return f"the repeats do not overlap (sandbox {_span(row.sandbox)}, bare {_span(row.bare)} {row.unit}). "


def _cpu(row: Row) -> str:
    """Measured: the client CPU per unit on both sides, and what ratio the harness's share of it alone allows."""
    extra, bare = row.harness_cpu_us, row.bare.cpu_median
    if extra is None or not bare or not row.bare.median:
        return ""
    wall = 1e6 / row.bare.median  # µs of wall time per unit in the bare loop
    return (f"client CPU {row.sandbox.cpu_median:,.1f} vs {bare:,.1f} µs per {row.unit.split('/')[0].rstrip('s')} "
            f"(harness {extra:+.1f} µs): on its own the harness would allow sandbox/bare "
            f"{wall / (wall + max(extra, 0.0)):.2f}. ")


def missed(row: Row) -> list[str]:
    """The row's missed goals, each with its reason."""
    lines = []
    harness, library = row.harness_ratio, row.library_ratio
    if row.harness_target is not None and harness is not None and harness < row.harness_target:
        lines.append(f"sandbox/bare {harness:.3g} < {row.harness_target:g}: {_overlap(row)}{_cpu(row)}"
                     f"{row.why_harness or 'no profile recorded for this row yet.'}")
    if row.rate_target is not None and (row.sandbox.median or 0.0) < row.rate_target:
        lines.append(f"sandbox {row.sandbox.median or 0:,.0f} < {row.rate_target:,.0f} {row.unit}: "
                     f"{row.why_harness or 'no profile recorded for this row yet.'}")
    if row.library_target is not None and library is not None and library < row.library_target:
        lines.append(f"bare/native {library:.3g} < {row.library_target:g}: "
                     f"{row.why_library or 'no profile recorded for this row yet.'}")
    return lines


def section(rows: list[Row]) -> str:
    out = []
    for row in rows:
        label = row.bench.split(" vs ")[0].split(":")[0]
        out += [f"- {label}: {line}" for line in missed(row)]
    if not out:
        return "Every goal in the table was met in this run.\n"
    return "Why goals are not met (profiles: docs/measurement.md, \"Benchmarks\"):\n\n" + "\n".join(out) + "\n"
