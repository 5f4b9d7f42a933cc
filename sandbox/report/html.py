"""report.html: one self-contained page per results folder (plots inlined as SVG, no network, no script),
rendered from templates/report.html.j2; the experiments add their own sections (page.Sections).

The same plots are written as PNG files beside it, for slides. `write_report` redraws any folder from
its summary.json, timeline.csv and history.jsonl, so `sandbox report RESULTS_DIR` works on older runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sandbox.measure.latency import decode, new_histogram
from sandbox.report import background_view, plots, sections, server_sections
from sandbox.report import folder as rf
from sandbox.report.page import Draw, Plot, Sections, write_page
from sandbox.report.recommend import MatrixCells, matrix_table
from sandbox.report.stage_table import stage_table
from sandbox.report.trials import trials_table

VERDICT = {True: "all stores consistent", False: "CONSISTENCY FINDINGS", None: "no read-back comparison"}


def ops_of(trials: Sequence[rf.Trial]) -> list[str]:
    seen: dict[str, None] = {}
    for trial in trials:
        for _, op in trial.operations():
            seen.setdefault(op, None)
    return list(seen)


def spectra(draw: Draw, trials: Sequence[rf.Trial], title: str) -> list[Plot]:
    """One spectrum figure per operation: a line per store, every trial's histograms added together."""
    stores = list(dict.fromkeys(store for t in trials for store, _ in t.operations()))
    colors = plots.color_of(stores)
    out = []
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
            out.append(draw.figure(fig, f"plot-spectrum-{op}.png",
                                   f"{op} latency spectrum, HdrHistogram; x: percentile, each tick one more nine"))
    return out


def timeline(draw: Draw, trial: rf.Trial) -> Plot | None:
    rows = rf.timeline(trial.path)
    if not rows:
        return None
    colors = plots.color_of(list(trial.summary.get("stores", {})))
    marks = rf.stage_marks(trial.path)
    probes, work = background_view.read(trial.path)
    lanes = [(p["store"], p["store"] + (" (cannot see)" if p.get("blind") and not any(w.store == p["store"]
                                                                                         for w in work) else ""))
             for p in probes]
    fig = plots.timeline_figure(rows, rf.events(trial.path, trial.summary), colors, marks, work, lanes)
    return draw.figure(fig, "plot-timeline.png", "throughput and p99 response time per second, from timeline.csv; "
                       "grey: warm-up (not in the results); red: faults injected (history)"
                       + ("; green dotted: load stages (stages.jsonl), black: the rate they asked for"
                          if marks else "")
                       + ("; bottom: each server's background work (background.jsonl)" if lanes else ""))


def write_report(path: Path, parts: Sections, cells: MatrixCells) -> Path:
    """report.html (and its PNGs) in a results folder; a folder of trials gets a trials page too."""
    folder = rf.load(path)
    draw = Draw(path)
    values: dict[str, Any]
    if folder.repeated:
        for trial in folder.trials:
            write_report(trial.path, parts, cells)
        summary = folder.trials[0].summary
        values = {"what": f"{len(folder.trials)} trials", "trials": folder.trials, "trials_table": trials_table(folder),
                  "spectra": spectra(draw, folder.trials, f" ({len(folder.trials)} trials)"), "timeline": None,
                  "sections": parts.sections(summary, None)}  # the first trial's tables; its page has its plots
    else:
        summary = folder.summary
        values = {"what": "Run report", "trials": [], "trials_table": None,
                  "spectra": spectra(draw, folder.trials, ""), "timeline": timeline(draw, folder.trials[0]),
                  "timeline_tables": [t for t in (stage_table(path), background_view.inside_outside(path))
                                      if t is not None],
                  "sections": parts.sections(summary, draw)}
    return write_page(path / "report.html", "report.html.j2", title=f"sandbox report {summary.get('run_id')}",
                      summary=summary, verdict=VERDICT[summary.get("consistent")], tables=sections.core(summary),
                      server_tables=server_sections.server_stats(summary), matrix=matrix_table(path.parent, cells),
                      manifest=sections.manifest(summary), **values)
