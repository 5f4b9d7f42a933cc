"""What `sandbox compare` prints and writes: a terminal table, compare.html (spectra overlaid) and compare.json."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rich import box
from rich.table import Table

from sandbox.measure.latency import decode, new_histogram
from sandbox.report import folder as rf
from sandbox.report import plots
from sandbox.report.compare import METHOD, Comparison, Row
from sandbox.report.console import console
from sandbox.report.page import Draw, Plot, write_page
from sandbox.report.table_data import Cell, TableData
from sandbox.report.trials import fmt

STYLES = ("-", "--", ":", "-.")
FEW_TRIALS = 5


@dataclass(frozen=True)
class Shown:
    """One side's histograms for the overlaid spectra: a folder, maybe one of its stores only."""

    label: str
    folder: rf.ResultsFolder
    only: str | None = None


def cells(r: Row) -> list[str]:
    diff = "-" if r.diff_pct is None else f"{r.diff_pct:+.1f}%"
    ci = "-" if r.ci_pct is None else f"{r.ci_pct[0]:+.1f}..{r.ci_pct[1]:+.1f}%"
    p = "-" if r.p_adjusted is None else f"{r.p_adjusted:.3f}" if r.p_adjusted >= 0.001 else "<0.001"
    metric = "orders/s" if r.metric == "throughput" else f"{r.metric} ms"
    return [f"{r.store} {r.op}".strip(), metric, fmt(r.metric, r.baseline), fmt(r.metric, r.contender), diff,
            ci, p, r.verdict]


HEADERS = ["store op", "metric", "baseline", "contender", "diff", "95% CI", "p Holm", "verdict"]
WRAPS = ("store op", "verdict")  # the other columns stay on one line
TERMINAL = [h for h in HEADERS if h != "p Holm"]  # 100 columns: the corrected p is in compare.html and .json
COLORS = {"faster": "green", "slower": "red"}


def terminal_table(c: Comparison) -> Table:
    trials = {(r.baseline_trials, r.contender_trials) for r in c.rows}
    table = Table(title=f"{c.contender} against {c.baseline} (trials {', '.join(f'{b} vs {k}' for b, k in trials)}"
                  f"; noise band ±{c.noise_pct:g}%)", box=box.SIMPLE_HEAD, pad_edge=False)
    for h in TERMINAL:
        table.add_column(h, justify="right" if h in ("baseline", "contender", "diff") else "left",
                         no_wrap=h not in WRAPS)
    for r in c.rows:
        row = [cell for h, cell in zip(HEADERS, cells(r), strict=True) if h in TERMINAL]
        color = COLORS.get(r.verdict)
        table.add_row(*row[:-1], f"[{color}]{row[-1]}[/]" if color else row[-1])
    return table


def print_comparisons(comparisons: Sequence[Comparison]) -> None:
    for c in comparisons:
        if c.state_differences:
            console.print("[bold red]consistency / durability differences[/] (read these first):")
            for line in c.state_differences:
                console.print(f"  {line}")
        else:
            console.print(f"consistency / durability: no difference between {c.baseline} and {c.contender}")
    for c in comparisons:
        console.print(terminal_table(c))
    console.print(f"  method: {METHOD}")
    if (note := few_trials_note(comparisons)) is not None:
        console.print(f"  note: {note}")


def few_trials_note(comparisons: Sequence[Comparison]) -> str | None:
    """With 2-4 trials the test sees little of the noise: wide intervals, only large changes called."""
    fewest = min((min(r.baseline_trials, r.contender_trials) for c in comparisons for r in c.rows), default=0)
    if 1 < fewest < FEW_TRIALS:
        return (f"{fewest} trials on a side: the intervals are wide and only large changes get a verdict; "
                f"--repeat {FEW_TRIALS} or more resolves smaller ones.")
    return None


def html_table(c: Comparison, index: int) -> TableData:
    t = TableData(f"compare-{index}", f"{c.contender} against {c.baseline} (geometric mean across trials; noise band "
                  f"±{c.noise_pct:g}%)", HEADERS)
    for r in c.rows:
        row = cells(r)
        t.add(*row[:-1], Cell(row[-1], bad=r.verdict == "slower"))
    return t


def spectra(draw: Draw, shown: Sequence[Shown]) -> list[Plot]:
    """Per operation, each side's spectrum per store: one color per store, one line style per side."""
    stores = list(dict.fromkeys(s.only or store for s in shown for t in s.folder.trials
                                for store, _ in t.operations()))
    colors = plots.color_of(stores)
    ops = list(dict.fromkeys(op for s in shown for t in s.folder.trials for _, op in t.operations()))
    parts = []
    for op in ops:
        series = []
        for i, s in enumerate(shown):
            for store in [s.only] if s.only else stores:
                response, service = new_histogram(), new_histogram()
                for trial in s.folder.trials:
                    if (o := trial.operations().get((store, op))) is not None:
                        response.add(decode(o.get("hdr", "")))
                        service.add(decode(o.get("hdr_service", "")))
                if response.get_total_count():
                    series.append(plots.Series(f"{store} · {s.label}", response, service, colors[store],
                                               STYLES[i % len(STYLES)]))
        if series:
            fig = plots.spectrum_figure(f"{op}: baseline and contenders overlaid", series)
            parts.append(draw.figure(fig, f"plot-compare-{op}.png", f"{op}: line style = side, color = store"))
    return parts


def write_outputs(out: Path, comparisons: Sequence[Comparison], shown: Sequence[Shown]) -> tuple[Path, Path]:
    out.mkdir(parents=True, exist_ok=True)
    page_path, json_path = out / "compare.html", out / "compare.json"
    write_page(page_path, "compare.html.j2", title="sandbox compare",
               contenders=", ".join(c.contender for c in comparisons), baseline=comparisons[0].baseline,
               differences=[line for c in comparisons for line in c.state_differences],
               method=METHOD, tables=[html_table(c, i) for i, c in enumerate(comparisons)],
               note=few_trials_note(comparisons),
               spectra=spectra(Draw(out), shown))
    json_path.write_text(json.dumps([c.to_json() for c in comparisons], indent=2))
    return page_path, json_path
