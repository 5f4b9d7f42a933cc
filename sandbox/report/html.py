"""report.html: one self-contained page per results folder (plots inlined as SVG, no network, no script).

The same plots are written as PNG files beside it, for slides. `write_report` redraws any folder from
its summary.json, timeline.csv and history.jsonl, so `sandbox report RESULTS_DIR` works on older runs.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from sandbox.measure.latency import decode, new_histogram
from sandbox.report import folder as rf
from sandbox.report import plots, sections, sharding
from sandbox.report.recommend import matrix_table
from sandbox.report.table_data import Cell, TableData
from sandbox.report.trials import trials_table

NUMBER = re.compile(r"[-+]?[\d,.]+ ?(%|s|ms)?|-")
CSS = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 1.5rem auto; max-width: 1200px; padding: 0 1rem; color: #222; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.15rem; margin-top: 2rem; border-bottom: 1px solid #ddd; }
table.data { border-collapse: collapse; margin: .5rem 0 1rem; font-size: 13px; }
table.data caption { text-align: left; font-weight: 600; padding: .3rem 0; }
table.data th, table.data td { border: 1px solid #ddd; padding: .2rem .5rem; text-align: left; vertical-align: top;
  overflow-wrap: anywhere; }
table.data th { background: #f4f4f4; } table.data td.num { text-align: right; white-space: nowrap; }
td.bad { color: #b00020; font-weight: 600; } p.note { color: #555; margin: .2rem 0; }
figure.plot { margin: 1rem 0; } figure.plot svg { max-width: 100%; height: auto; }
figure.plot figcaption { color: #555; font-size: 12px; }
"""


def table_html(t: TableData) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in t.headers)
    numeric = t.id != "manifest"  # the manifest's values are text, even when they are numbers
    body = "".join("<tr>" + "".join(_cell(c, numeric) for c in row) + "</tr>" for row in t.rows)
    notes = "".join(f'<p class="note">{html.escape(n)}</p>' for n in t.notes)
    return (f'<table class="data" id="table-{html.escape(t.id)}"><caption>{html.escape(t.title)}</caption>'
            f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{notes}")


def _cell(c: Cell, numeric: bool) -> str:
    classes = " ".join(k for k, on in (("bad", c.bad), ("num", numeric and NUMBER.fullmatch(c.text))) if on)
    return f'<td class="{classes}">{html.escape(c.text)}</td>' if classes else f"<td>{html.escape(c.text)}</td>"


def figure_html(fig: Figure, png: Path, caption: str) -> str:
    svg = plots.render(fig, png)
    return (f'<figure class="plot" id="plot-{html.escape(png.stem)}">{svg}<figcaption>{html.escape(caption)} '
            f'(also <a href="{html.escape(png.name)}">{html.escape(png.name)}</a>)</figcaption></figure>')


def page(title: str, parts: Sequence[str]) -> str:
    return ('<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{html.escape(title)}</title><style>{CSS}</style></head><body>"
            + "".join(parts) + "</body></html>")


def ops_of(trials: Sequence[rf.Trial]) -> list[str]:
    seen: dict[str, None] = {}
    for trial in trials:
        for _, op in trial.operations():
            seen.setdefault(op, None)
    return list(seen)


def spectra(out: Path, trials: Sequence[rf.Trial], title: str) -> list[str]:
    """One spectrum figure per operation: a line per store, every trial's histograms added together."""
    stores = list(dict.fromkeys(store for t in trials for store, _ in t.operations()))
    colors = plots.color_of(stores)
    parts = []
    for op in ops_of(trials):
        series = []
        for store in stores:
            response, service = new_histogram(), new_histogram()
            for trial in trials:
                if (o := trial.operations().get((store, op))) is not None:
                    response.add(decode(o.get("hdr", "")))
                    service.add(decode(o.get("hdr_service", "")))
            if response.get_total_count():
                series.append(plots.Series(store, response, service, colors[store]))
        if series:
            fig = plots.spectrum_figure(f"{op}: latency by percentile{title}", series)
            parts.append(figure_html(fig, out / f"plot-spectrum-{op}.png",
                                     f"{op} latency spectrum, HdrHistogram; x: percentile, each tick one more nine"))
    return parts


def run_body(trial: rf.Trial, out: Path) -> list[str]:
    """The plots and tables of one run (or one trial)."""
    summary = trial.summary
    parts = ["<h2>Latency by percentile</h2>", *spectra(out, [trial], "")]
    rows = rf.timeline(trial.path)
    if rows:
        colors = plots.color_of(list(summary.get("stores", {})))
        fig = plots.timeline_figure(rows, rf.events(trial.path, summary), colors)
        parts += ["<h2>Over time</h2>",
                  figure_html(fig, out / "plot-timeline.png", "throughput and p99 response time per second, from "
                              "timeline.csv; grey: warm-up (not in the results); red: faults injected (history)")]
    if moved := (summary.get("experiments") or {}).get("sharding"):
        fig = sharding.moved_fraction_figure(moved)
        parts += ["<h2>Sharding</h2>", figure_html(fig, out / "plot-moved-fraction.png", "fraction of keys moved "
                                                   "adding one shard, per scheme, against the ideal 1/(N+1)"),
                  table_html(sharding.movement_data(moved))]
    if capacity := (summary.get("mix") or {}).get("capacity"):
        fig = plots.capacity_figure(capacity, plots.color_of(list(summary.get("stores", {}))))
        parts += ["<h2>Capacity</h2>",
                  figure_html(fig, out / "plot-capacity.png", "each step of the capacity search: rate started "
                              "against the target percentile; o held, x did not (docs/workloads.md)")]
    parts.append("<h2>Tables</h2>")
    parts += [table_html(t) for t in sections.run_tables(summary)]
    return parts


def header(summary: dict[str, Any], what: str) -> str:
    verdict = {True: "all stores consistent", False: "CONSISTENCY FINDINGS", None: "no read-back comparison"}
    return (f"<h1>{html.escape(what)} — {html.escape(str(summary.get('scenario')))}</h1>"
            f'<p>run <b>{html.escape(str(summary.get("run_id")))}</b>, seed {summary.get("seed")}, '
            f'{html.escape(verdict[summary.get("consistent")])}. Every number below was measured in this run; '
            "stand-ins are named where they answered.</p>")


def write_report(path: Path) -> Path:
    """report.html (and its PNGs) in a results folder; a folder of trials gets a trials page too."""
    folder = rf.load(path)
    results_root = path.parent
    if folder.repeated:
        for trial in folder.trials:
            write_report(trial.path)
        first = folder.trials[0].summary
        parts = [header(first, f"{len(folder.trials)} trials"),
                 "<p>Trials: " + ", ".join(f'<a href="{html.escape(t.path.name)}/report.html">'
                                           f"{html.escape(t.path.name)} ({html.escape(t.run_id)})</a>"
                                           for t in folder.trials) + "</p>",
                 "<h2>Per trial, and the spread</h2>", table_html(trials_table(folder)),
                 "<h2>Latency by percentile, all trials together</h2>",
                 *spectra(path, folder.trials, f" ({len(folder.trials)} trials)")]
        parts += ["<h2>First trial</h2>", *[table_html(t) for t in sections.run_tables(first)]]
        summary = first
    else:
        summary = folder.summary
        parts = [header(summary, "Run report"), *run_body(folder.trials[0], path)]
    parts += ["<h2>Technology selection matrix (from measured runs)</h2>", table_html(matrix_table(results_root)),
              "<h2>Environment</h2>", table_html(sections.manifest(summary))]
    out = path / "report.html"
    tmp = out.with_suffix(".tmp")
    tmp.write_text(page(f"sandbox report {summary.get('run_id')}", parts))
    tmp.replace(out)
    return out
