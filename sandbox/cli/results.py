"""`sandbox report | compare | recommend`: results folders drawn, compared and summed up."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sandbox.cli.app import ConfigOpt, app, experiment_registry, workspace
from sandbox.errors import UsageError
from sandbox.experiments.registry import Experiments
from sandbox.report import folder as rf
from sandbox.report.console import console


def write_report_into(path: Path, experiments: Experiments) -> None:
    from sandbox.report.html import write_report  # matplotlib: imported only when a report is drawn

    console.print(f"report: {write_report(path, experiments, experiments)}")


@app.command("report")
def report(results: Annotated[Path, typer.Argument(help="a results folder (results/<time>-<scenario>)")],
           config: ConfigOpt = None) -> None:
    """Write (or rewrite) report.html and its PNG plots in a results folder, older ones included."""
    rf.load(results)  # one clear line when it is not a results folder
    write_report_into(results, experiment_registry(config))


@app.command("compare")
def compare(
    baseline: Annotated[Path, typer.Argument(help="results folder to compare against")],
    contenders: Annotated[list[Path] | None, typer.Argument(help="results folders compared with the baseline")] = None,
    stores: Annotated[str | None, typer.Option(help="A,B: compare store B against store A within BASELINE")] = None,
    noise: Annotated[float, typer.Option(help="noise band in %: smaller differences get no verdict")] = 5.0,
    out: Annotated[Path | None, typer.Option(help="folder for compare.html / compare.json (default: the first "
                                             "contender's, or BASELINE's with --stores)")] = None,
    config: ConfigOpt = None,
) -> None:
    """Per store and operation: baseline, contender, % difference, 95% CI over trials, Holm-corrected verdict."""
    from sandbox.report.compare import compare as compare_sides
    from sandbox.report.compare import side
    from sandbox.report.compare_view import Shown, print_comparisons, write_outputs

    if noise < 0:
        raise UsageError(f"--noise must be a percentage >= 0, got {noise}")
    read = experiment_registry(config).states  # what each experiment's checks said, per store
    base = rf.load(baseline)
    if stores is not None:
        if contenders:
            raise UsageError("--stores compares two stores within one folder: pass only BASELINE")
        pair = [s.strip() for s in stores.split(",") if s.strip()]
        known = {store for t in base.trials for store, _ in t.operations()}
        if len(pair) != 2 or not set(pair) <= known:
            raise UsageError(f"--stores needs two of the folder's stores, A,B (it has {', '.join(sorted(known))})")
        label = ""  # the rows are one store's against the other's: the title names both
        comparisons = [compare_sides(side(base, pair[0], label, read), side(base, pair[1], label, read), noise)]
        shown = [Shown(pair[0], base, pair[0]), Shown(pair[1], base, pair[1])]
        target = out or baseline
    else:
        if not contenders:
            raise UsageError("compare needs a CONTENDER folder (or --stores A,B with one folder)")
        folders = [rf.load(c) for c in contenders]
        comparisons = [compare_sides(side(base, read=read), side(f, read=read), noise) for f in folders]
        shown = [Shown(f"baseline {base.label}", base), *(Shown(f.label, f) for f in folders)]
        target = out or contenders[0]
    print_comparisons(comparisons)
    page, data = write_outputs(target, comparisons, shown)
    console.print(f"compare: {page}  {data}")


@app.command("recommend")
def recommend(results: Annotated[Path | None, typer.Option(help="folder of results folders (default: the "
                                                           "workspace's results/)")] = None,
              config: ConfigOpt = None) -> None:
    """The technology selection matrix, every cell filled from measured runs (run id named) or 'not measured'."""
    from sandbox.report.recommend import print_matrix

    print_matrix(results or workspace().results_dir, experiment_registry(config))
