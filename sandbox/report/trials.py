"""Repeated trials (`--repeat N`): one results folder holding a folder per trial, and the spread across them."""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

from rich.table import Table

from sandbox.report import folder as rf
from sandbox.report.console import rich_table
from sandbox.report.table_data import Cell, TableData, ms


def trial_dir(path: Path, index: int) -> Path:
    return path / f"trial-{index}"


def values(folder: rf.ResultsFolder) -> dict[tuple[str, str], dict[str, list[float | None]]]:
    """(store, op) -> metric -> one value per trial (None where a trial did not measure it)."""
    keys = list(dict.fromkeys(k for t in folder.trials for k in t.operations()))
    out: dict[tuple[str, str], dict[str, list[float | None]]] = {}
    for key in keys:
        per = [rf.metrics(op) if (op := t.operations().get(key)) else {} for t in folder.trials]
        out[key] = {m: [p.get(m) for p in per] for m in rf.METRICS}
    return out


def spread(xs: list[float | None]) -> dict[str, float | None]:
    got = [x for x in xs if x is not None]
    if not got:
        return {"median": None, "min": None, "max": None, "cv_pct": None}
    median = statistics.median(got)
    cv = statistics.stdev(got) / statistics.mean(got) * 100 if len(got) > 1 and statistics.mean(got) else None
    return {"median": median, "min": min(got), "max": max(got), "cv_pct": None if cv is None else round(cv, 2)}


def write_trials_summary(path: Path, trials: int) -> Path:
    """The folder's summary.json: which trials it holds, each metric per trial, and their spread."""
    names = [trial_dir(path, i).name for i in range(1, trials + 1)]
    folder = rf.ResultsFolder(path, {"trials": names}, [rf.Trial(path / n, rf.read_summary(path / n))
                                                        for n in names])
    first = folder.trials[0].summary
    per: dict[str, Any] = {}
    for (store, op), metrics in values(folder).items():
        per.setdefault(store, {})[op] = {m: {"per_trial": v, **spread(v)} for m, v in metrics.items()}
    doc = {"run_id": first.get("run_id"), "scenario": first.get("scenario"), "seed": first.get("seed"),
           "repeat": trials, "trials": names, "run_ids": [t.run_id for t in folder.trials],
           "consistent": None if any(t.summary.get("consistent") is None for t in folder.trials)
           else all(t.summary["consistent"] for t in folder.trials),
           "metrics": per, "environment": first.get("environment")}
    out = path / "summary.json"
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc, indent=2))
    tmp.replace(out)
    return out


def fmt(metric: str, value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f}" if metric == "throughput" else ms(value)


def trials_table(folder: rf.ResultsFolder, per_trial: bool = True) -> TableData:
    n = len(folder.trials)
    headers = ["store", "op", "metric", *([f"t{i}" for i in range(1, n + 1)] if per_trial else []),
               "median", "min", "max", "cv %"]
    t = TableData("trials", f"{n} trials: orders/s and response time (ms) per trial, and the spread", headers)
    for (store, op), metrics in values(folder).items():
        for i, (metric, xs) in enumerate(metrics.items()):
            s = spread(xs)
            cv = s["cv_pct"]
            t.add(store if i == 0 else "", op if i == 0 else "", metric,
                  *([fmt(metric, x) for x in xs] if per_trial else []),
                  fmt(metric, s["median"]), fmt(metric, s["min"]), fmt(metric, s["max"]),
                  Cell("-" if cv is None else f"{cv:.1f}", bad=cv is not None and cv > 10))
    t.notes.append("cv % = standard deviation / mean across trials; above 10 % in red: the machine was noisy.")
    return t


def trials_terminal_table(folder: rf.ResultsFolder) -> Table:
    """The spread for the terminal; each trial's own values are in report.html and summary.json."""
    return rich_table(trials_table(folder, per_trial=False))
