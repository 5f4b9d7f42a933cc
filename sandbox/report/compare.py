"""`sandbox compare`: is a difference between two results real? Means across trials, % difference,
a 95% bootstrap confidence interval of that difference, and a verdict only when it is clear.

A verdict (faster / slower) needs the interval to exclude 0 AND the difference to exceed a noise band
(default 5%): on a shared machine a few percent is weather. One trial on either side gives no interval,
so no verdict. Consistency and durability differences come first: a faster store that lost data is not
an improvement. Pure logic: the terminal and HTML views are in compare_view.py.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from sandbox.report import folder as rf

ROUNDS = 4000
NO_VERDICT = "single trial: no verdict"
Key = tuple[str, str]  # (store, op); in a --stores comparison the store is "a vs b"
# A trial's summary -> (store, what its checks said), from the registered experiments (the CLI passes them).
StateReader = Callable[[dict[str, Any]], list[tuple[str, str]]]


@dataclass(frozen=True)
class Side:
    label: str
    values: dict[Key, dict[str, list[float]]]  # metric -> one value per trial
    trials: int
    states: dict[str, str]  # store -> what its consistency / durability checks said


@dataclass
class Row:
    store: str
    op: str
    metric: str
    baseline: float | None
    contender: float | None
    baseline_trials: int
    contender_trials: int
    diff_pct: float | None = None
    ci_pct: tuple[float, float] | None = None
    verdict: str = ""


@dataclass
class Comparison:
    baseline: str
    contender: str
    noise_pct: float
    state_differences: list[str] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"baseline": self.baseline, "contender": self.contender, "noise_pct": self.noise_pct,
                "state_differences": self.state_differences, "rows": [asdict(r) for r in self.rows]}


def bootstrap_ci(base: list[float], cont: list[float], seed: int = 0) -> tuple[float, float]:
    """95% percentile-bootstrap interval of 100 * (mean(cont) / mean(base) - 1), trials resampled per side."""
    rng = np.random.default_rng(seed)
    b = np.asarray(base, dtype=float)[rng.integers(0, len(base), (ROUNDS, len(base)))].mean(axis=1)
    c = np.asarray(cont, dtype=float)[rng.integers(0, len(cont), (ROUNDS, len(cont)))].mean(axis=1)
    diffs = 100.0 * (c / b - 1.0)
    lo, hi = np.percentile(diffs, [2.5, 97.5])
    return float(lo), float(hi)


def verdict(metric: str, diff: float, ci: tuple[float, float] | None, noise_pct: float) -> str:
    if ci is None:
        return NO_VERDICT
    if (ci[0] <= 0 <= ci[1]) or abs(diff) <= noise_pct:
        return "no significant change"
    better = diff > 0 if metric == "throughput" else diff < 0  # more orders/s, or less latency
    return "faster" if better else "slower"


def compare(base: Side, cont: Side, noise_pct: float) -> Comparison:
    out = Comparison(base.label, cont.label, noise_pct, state_differences(base, cont))
    for key in [k for k in base.values if k in cont.values]:
        for metric in rf.METRICS:
            b, c = base.values[key].get(metric, []), cont.values[key].get(metric, [])
            row = Row(key[0], key[1], metric, statistics.mean(b) if b else None,
                      statistics.mean(c) if c else None, len(b), len(c))
            if b and c and row.baseline:
                assert row.contender is not None
                row.diff_pct = 100.0 * (row.contender / row.baseline - 1.0)
                row.ci_pct = bootstrap_ci(b, c) if len(b) > 1 and len(c) > 1 else None
                row.verdict = verdict(metric, row.diff_pct, row.ci_pct, noise_pct)
            else:
                row.verdict = "not measured on both sides"
            out.rows.append(row)
    return out


def state_differences(base: Side, cont: Side) -> list[str]:
    """Stores whose consistency or durability verdict differs between the sides, worded for a reader."""
    out = []
    for store in dict.fromkeys([*base.states, *cont.states]):
        b, c = base.states.get(store, "not checked"), cont.states.get(store, "not checked")
        if b != c:
            out.append(f"{store + ': ' if store else ''}{base.label}: {b}; {cont.label}: {c}")
    return out


def no_states(summary: dict[str, Any]) -> list[tuple[str, str]]:
    return []


def store_states(folder: rf.ResultsFolder, read: StateReader = no_states) -> dict[str, str]:
    """Per store, across the folder's trials, what `read` finds in each (the experiments: read-back
    consistency, fault-check findings, durability losses)."""
    parts: dict[str, list[str]] = {}
    n = len(folder.trials)
    for trial in folder.trials:
        for name, text in read(trial.summary):
            parts.setdefault(name, []).append(text)
    out = {}
    for name, found in parts.items():
        counts = {text: found.count(text) for text in dict.fromkeys(found)}
        out[name] = ", ".join(text if k == n else f"{text} in {k} of {n} trials" for text, k in counts.items())
    return out


def side(folder: rf.ResultsFolder, only: str | None = None, rename: str | None = None,
         read: StateReader = no_states) -> Side:
    """A folder's per-trial values; with `only`, just that store's rows, shown under `rename`."""
    values: dict[Key, dict[str, list[float]]] = {}
    for trial in folder.trials:
        for (store, op), stats in trial.operations().items():
            if only is not None and store != only:
                continue
            key = (store if rename is None else rename, op)
            for metric, value in rf.metrics(stats).items():
                if value is not None:
                    values.setdefault(key, {}).setdefault(metric, []).append(value)
    states = store_states(folder, read)
    if only is not None:
        states = {only if rename is None else rename: states.get(only, "not checked")}
    label = folder.label if only is None else f"{only} ({folder.label})"
    return Side(label, values, len(folder.trials), states)
