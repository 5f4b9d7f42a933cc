"""The report's pictures, drawn with matplotlib: percentile spectra and the per-second timeline.

Each figure is written as a PNG beside the report (for slides) and returned as SVG text to inline in the
HTML, so the page needs no network and no other file. Figures are built on matplotlib's object API
(no pyplot, no global state) with the Agg/SVG backends only.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hdrh.histogram import HdrHistogram
from matplotlib import rc_context
from matplotlib.figure import Figure

from sandbox.report.folder import Event, StageMark

DECADES = 5  # the spectrum reaches 99.999%
TICKS = {1: "0%", 10: "90%", 100: "99%", 1000: "99.9%", 10_000: "99.99%", 100_000: "99.999%"}
OP_STYLES = {"write": "-", "read": ":"}
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
           "#17becf")


@dataclass(frozen=True)
class Series:
    """One line of a spectrum: a store/op (or a trial, or a run) and its response and service histograms."""

    label: str
    response: HdrHistogram
    service: HdrHistogram | None
    color: str
    style: str = "-"


def color_of(names: Sequence[str]) -> dict[str, str]:
    return {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(names)}


def spectrum_points(hist: HdrHistogram) -> tuple[list[float], list[float]]:
    """x = 1 / (1 - percentile), so each decade is one more nine; y = the value at that percentile, ms."""
    steps = 40 * DECADES
    xs = [10 ** (DECADES * i / steps) for i in range(steps + 1)]
    percentiles = [100.0 * (1 - 1 / x) for x in xs]
    values = hist.get_percentile_to_value_dict(percentiles)  # one pass over the counts for all of them
    return xs, [values[p] / 1000.0 for p in percentiles]


def spectrum_figure(title: str, series: Sequence[Series]) -> Figure:
    fig = Figure(figsize=(11, 4.2), layout="constrained")
    fig.suptitle(title)
    panels = fig.subplots(1, 2, sharey=True)
    plotted = False
    for ax, kind in zip(panels, ("response time (from the intended start)", "service time (from the send)"),
                        strict=True):
        for s in series:
            hist = s.response if kind.startswith("response") else s.service
            if hist is None or hist.get_total_count() == 0:
                continue
            xs, ys = spectrum_points(hist)
            ax.plot(xs, ys, s.style, color=s.color, label=s.label, linewidth=1.4)
            plotted = True
        ax.set_xscale("log")
        ax.set_xticks(list(TICKS), list(TICKS.values()))
        ax.set_xlim(1, 10**DECADES)
        ax.set_xlabel("percentile")
        ax.set_title(kind, fontsize=10)
        ax.grid(True, which="major", alpha=0.3)
    panels[0].set_ylabel("latency (ms)")
    if plotted:  # a log axis needs a positive value: a run where every operation failed has none
        panels[0].set_yscale("log")
        panels[0].legend(fontsize=8, loc="upper left")
    else:
        panels[0].text(0.5, 0.5, "no successful operation to draw", ha="center", transform=panels[0].transAxes)
    return fig


def timeline_figure(rows: list[dict[str, Any]], events: Sequence[Event], colors: dict[str, str],
                    stages: Sequence[StageMark] = (), work: Sequence[Any] = (),
                    lanes: Sequence[tuple[str, str]] = ()) -> Figure:
    """Throughput and p99 per second for each store/op; warm-up shaded, phases, faults and load stages marked,
    and the rate the stages asked for beside the one reached; under the p99, a lane per store in `lanes` with
    its server's background work (`work`: background_view.Work); lanes: (store, label)."""
    xs, origin = _seconds(rows)
    shown_lanes = list(lanes) if origin is not None else []
    fig = Figure(figsize=(11, 5.5 + 0.35 * len(shown_lanes)), layout="constrained")
    if shown_lanes:
        top, bottom, under = fig.subplots(3, 1, sharex=True,
                                          gridspec_kw={"height_ratios": [3, 3, 0.5 + 0.35 * len(shown_lanes)]})
    else:
        top, bottom = fig.subplots(2, 1, sharex=True)
    lines: dict[tuple[str, str], list[tuple[float, Any, Any]]] = {}
    for row, x in zip(rows, xs, strict=True):
        lines.setdefault((row["store"], row["op"]), []).append((x, row["ops_per_s"], row["response_p99_ms"]))
    for (store, op), points in lines.items():
        style = OP_STYLES.get(op, "--")
        color = colors.get(store, "#333333")
        top.plot([p[0] for p in points], [p[1] for p in points], style, color=color, label=f"{store} {op}")
        bottom.plot([p[0] for p in points], [p[2] for p in points], style, color=color)
    warm = sorted({(x - (row.get("span_s") or 1.0), x) for row, x in zip(rows, xs, strict=True)
                   if row.get("warmup_ops")})  # one span per second, however many stores were warming up
    for i, (start, end) in enumerate(warm):
        for ax in (top, bottom):
            ax.axvspan(start, end, color="#999999", alpha=0.2, linewidth=0,
                       label="warm-up" if i == 0 and ax is top else None)
    seen_phase: set[str] = set()
    for row, x in zip(rows, xs, strict=True):
        if row["phase"] not in seen_phase:
            seen_phase.add(row["phase"])
            start = x - (row.get("span_s") or 1.0)
            for ax in (top, bottom):
                ax.axvline(start, color="#bbbbbb", linewidth=0.8)
            top.annotate(row["phase"], (start, 1.0), xycoords=("data", "axes fraction"), fontsize=8,
                         va="bottom", color="#666666")
    if shown_lanes and origin is not None:
        _lanes(under, shown_lanes, work, origin, colors)
    if origin is not None:
        _stages(top, bottom, rows, xs, stages, origin)
        for e in events:
            x = e.wall_clock - origin
            for ax in (top, bottom):
                ax.axvline(x, color="#d62728", linestyle="--", linewidth=1)
            bottom.annotate(f"{e.action} {e.store}", (x, 0.98), xycoords=("data", "axes fraction"), rotation=90,
                            fontsize=8, va="top", ha="right", color="#d62728")
        for i, (start, end, _) in enumerate(_cut_spans(events)):  # a partition, until its heal
            for ax in (top, bottom):
                ax.axvspan(start - origin, end - origin, color="#d62728", alpha=0.08, linewidth=0,
                           label="link cut (partition)" if i == 0 and ax is top else None)
    top.set_ylabel("operations / s")
    bottom.set_ylabel("p99 response (ms)")
    if any((row["response_p99_ms"] or 0) > 0 for row in rows):  # a log axis needs a positive value
        bottom.set_yscale("log")
    (under if shown_lanes else bottom).set_xlabel(
        "seconds since the first measured second" if origin is not None else
        "seconds (phases laid end to end: this folder predates wall-clock timelines)")
    top.legend(fontsize=8, loc="upper right", ncols=2)
    for ax in (top, bottom):
        ax.grid(True, alpha=0.3)
    return fig


def _cut_spans(events: Sequence[Event]) -> list[tuple[float, float, str]]:
    """(start, end, store) of each partition, from its partition event to the store's next heal."""
    out, cut = [], {}
    for e in sorted(events, key=lambda e: e.wall_clock):
        if e.action == "partition":
            cut[e.store] = e.wall_clock
        elif e.action == "heal" and e.store in cut:
            out.append((cut.pop(e.store), e.wall_clock, e.store))
    return out


WORK_COLORS = ("#8c564b", "#9467bd", "#e377c2", "#bcbd22", "#17becf", "#7f7f7f")


def _lanes(ax: Any, lanes: Sequence[tuple[str, str]], work: Sequence[Any], origin: float,
           colors: dict[str, str]) -> None:
    """One lane per store: its server's background work as bars on the timeline's clock, named."""
    kinds = list(dict.fromkeys(w.what for w in work))
    color = {k: WORK_COLORS[i % len(WORK_COLORS)] for i, k in enumerate(kinds)}
    for i, (store, _) in enumerate(lanes):
        mine = [w for w in work if w.store == store]
        for w in mine:
            ax.broken_barh([(w.start - origin, max(w.end - w.start, 0.05))], (i - 0.35, 0.7), color=color[w.what],
                           alpha=0.8)
        for what in dict.fromkeys(w.what for w in mine):
            first = next(w for w in mine if w.what == what)
            ax.annotate(what, (first.start - origin, i + 0.38), fontsize=7, va="bottom", color=color[what])
    ax.set_yticks(range(len(lanes)), [label for _, label in lanes], fontsize=8)
    ax.set_ylim(-0.6, len(lanes) - 0.4 + 0.3)
    ax.set_ylabel("background", fontsize=8)
    ax.grid(True, axis="x", alpha=0.3)


def _stages(top: Any, bottom: Any, rows: list[dict[str, Any]], xs: list[float], stages: Sequence[StageMark],
            origin: float) -> None:
    """Each stage's start as a dotted line with its name; the intended rate (timeline.csv target_ops_s)."""
    for i, mark in enumerate(stages):
        x = mark.wall_start - origin
        for ax in (top, bottom):
            ax.axvline(x, color="#2ca02c", linestyle=":", linewidth=1, label="load stage" if i == 0 and ax is top
                       else None)
        top.annotate(mark.stage, (x, 0.97), xycoords=("data", "axes fraction"), rotation=90, fontsize=7,
                     va="top", ha="left", color="#2c7a2c")
    intended: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for row, x in zip(rows, xs, strict=True):
        if row.get("target_ops_s") is not None:
            intended.setdefault((row["phase"], row["store"]), []).append((x, row["target_ops_s"]))
    shown: set[str] = set()
    for (phase, _), points in intended.items():
        if phase in shown:  # every store of a phase was asked for the same rate: one line
            continue
        shown.add(phase)
        top.plot([p[0] for p in points], [p[1] for p in points], "-", color="#000000", linewidth=0.8, alpha=0.6,
                 drawstyle="steps-pre", label="intended rate (stages)" if len(shown) == 1 else None)


def capacity_figure(capacity: dict[str, dict[str, Any]], colors: dict[str, str]) -> Figure:
    """Throughput vs latency of each store's capacity search (summary.json mix.capacity): one point per step."""
    fig = Figure(figsize=(11, 4.2), layout="constrained")
    ax = fig.subplots()
    slo = next(iter(capacity.values()))["slo"]
    key = next((k for k in next(iter(capacity.values()))["curve"][0] if k.endswith("_ms") and k != "p50_ms"), None)
    for store, result in capacity.items():
        points = [p for p in result["curve"] if key and p.get(key) is not None]
        xs = [p["achieved"] if p["achieved"] is not None else p["rate"] for p in points]
        ys = [p[key] for p in points]
        color = colors.get(store, "#333333")
        ax.plot(xs, ys, "-", color=color, alpha=0.5, label=f"{store}: {result['capacity_ops_s'] or 'none'} ops/s")
        ax.scatter([x for x, p in zip(xs, points, strict=True) if p["holds"]],
                   [y for y, p in zip(ys, points, strict=True) if p["holds"]], color=color, marker="o")
        ax.scatter([x for x, p in zip(xs, points, strict=True) if not p["holds"]],
                   [y for y, p in zip(ys, points, strict=True) if not p["holds"]], color=color, marker="x")
    limit_ms = float(slo.split("<=")[1].removesuffix("ms"))
    ax.axhline(limit_ms, color="#d62728", linestyle="--", linewidth=1, label=f"target {slo}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("operations / s started (open loop)")
    ax.set_ylabel(f"{(key or '').removesuffix('_ms')} response (ms)")
    ax.legend(fontsize=8, loc="upper left")
    ax.grid(True, alpha=0.3)
    return fig


def _seconds(rows: list[dict[str, Any]]) -> tuple[list[float], float | None]:
    """Each row's x: seconds since the run's first measured second (wall clock), or phases end to end."""
    if rows and all(r.get("wall_clock") for r in rows):
        origin = min(r["wall_clock"] - (r.get("span_s") or 1.0) for r in rows)
        return [r["wall_clock"] - origin for r in rows], origin
    offset, last_phase, phase_end, xs = 0.0, None, 0.0, []
    for r in rows:
        if r["phase"] != last_phase:
            offset, last_phase = phase_end, r["phase"]
        x = offset + (r["second"] or 0.0)
        phase_end = max(phase_end, x)
        xs.append(x)
    return xs, None


def render(fig: Figure, png: Path) -> str:
    """Write the PNG beside the report; return the SVG to inline (without its XML prologue)."""
    png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png, format="png", dpi=110)
    buf = io.StringIO()
    with rc_context({"svg.fonttype": "none", "svg.hashsalt": "sandbox"}):  # text as text; stable ids
        fig.savefig(buf, format="svg")
    svg = buf.getvalue()
    return svg[svg.index("<svg"):]
