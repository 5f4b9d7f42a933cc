"""`sandbox compare`: is a difference between two results real? Per store, operation and metric: the
geometric means across trials, the % difference, its 95% confidence interval, and a verdict only when
the difference is clear for the whole table at once.

Each row is tested by Welch's t-test on the logarithms of the trial values (scipy), the trial being the
unit that repeats; Holm's correction (statsmodels) across every tested row of the comparison keeps the
chance of calling ANY untouched row faster or slower at 5%. A verdict also needs the difference to exceed
a noise band (default 5%). A percentile gets no verdict when a trial had fewer than TAIL_SAMPLES
operations beyond it (p99.9 of 1,000 operations is its one or two largest values); one trial on a side
gives no verdict. Why these choices, and their measured false-alarm rate: docs/reports.md, "Comparing".
Consistency and durability differences come first: a faster store that lost data is not an improvement.
Pure logic: the terminal and HTML views are in compare_view.py.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np
from scipy import stats
from statsmodels.stats.multitest import multipletests

from sandbox.measure.latency import decode
from sandbox.report import folder as rf

ALPHA = 0.05  # family-wise: the chance that any row of one comparison is called changed when none changed
CORRECTION = "holm"  # statsmodels' multipletests method
TAIL_SAMPLES = 10  # a percentile's verdict needs this many operations beyond it in every trial
NO_VERDICT = "single trial: no verdict"
NOT_MEASURED = "not measured on both sides"
SAME = "no significant change"
METHOD = (f"Geometric means across trials. Per row: Welch's t-test on the log of the trial values and its 95% "
          f"interval of the % difference; Holm's correction across the comparison's rows (family-wise "
          f"{ALPHA:.0%}). A verdict needs the corrected p below {ALPHA:g} and the difference beyond the noise "
          f"band; a percentile needs {TAIL_SAMPLES} operations beyond it in every trial (p99: 1,000 ops, "
          f"p99.9: 10,000); one trial on a side gives none.")
Key = tuple[str, str]  # (store, op); in a --stores comparison the store is "a vs b"
# A trial's summary -> (store, what its checks said), from the registered experiments (the CLI passes them).
StateReader = Callable[[dict[str, Any]], list[tuple[str, str]]]


@dataclass(frozen=True)
class Side:
    label: str
    values: dict[Key, dict[str, list[float]]]  # metric -> one value per trial
    trials: int
    states: dict[str, str]  # store -> what its consistency / durability checks said
    ops: dict[Key, list[int]]  # successful operations per trial: the samples behind its percentiles


@dataclass
class Row:
    store: str
    op: str
    metric: str
    baseline: float | None  # geometric mean across trials
    contender: float | None
    baseline_trials: int
    contender_trials: int
    diff_pct: float | None = None
    ci_pct: tuple[float, float] | None = None
    p_value: float | None = None  # Welch's t-test on log values, this row alone
    p_adjusted: float | None = None  # Holm-corrected across the comparison's tested rows
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
                "alpha": ALPHA, "correction": CORRECTION, "tail_samples": TAIL_SAMPLES, "method": METHOD,
                "state_differences": self.state_differences, "rows": [asdict(r) for r in self.rows]}


def ops_needed(metric: str) -> int | None:
    """Operations per trial for TAIL_SAMPLES of them to lie beyond the percentile: TAIL_SAMPLES / (1 - q).
    None for throughput (no tail). Decimal, so that p99.9 needs exactly 10,000 and not 10,001."""
    if not metric.startswith("p"):
        return None
    return math.ceil(TAIL_SAMPLES * Decimal(100) / (Decimal(100) - Decimal(metric[1:])))


def welch_log(base: np.ndarray, cont: np.ndarray) -> list[tuple[float, float, tuple[float, float]]]:
    """Per row (rows x trials arrays, one call for all): % difference of the geometric means, and Welch's
    two-sided p-value and 95% interval on log values: latencies and throughputs vary by factors across
    trials, so their logs are close to normal."""
    b, c = np.log(base), np.log(cont)
    with warnings.catch_warnings():  # identical trials: scipy warns of precision loss, p comes out nan
        warnings.simplefilter("ignore", RuntimeWarning)
        res = stats.ttest_ind(c, b, axis=1, equal_var=False)
        ci = res.confidence_interval(0.95)
    out = []
    for delta, p, lo, hi in zip(c.mean(axis=1) - b.mean(axis=1), res.pvalue, ci.low, ci.high, strict=True):
        p = p if math.isfinite(p) else (1.0 if delta == 0 else 0.0)  # no spread: only equal means are equal
        lo, hi = (lo, hi) if math.isfinite(lo) and math.isfinite(hi) else (delta, delta)
        out.append((100.0 * math.expm1(delta), float(p), (100.0 * math.expm1(lo), 100.0 * math.expm1(hi))))
    return out


def verdict(metric: str, diff: float, p_adjusted: float, noise_pct: float) -> str:
    if p_adjusted >= ALPHA or abs(diff) <= noise_pct:
        return SAME
    better = diff > 0 if metric == "throughput" else diff < 0  # more orders/s, or less latency
    return "faster" if better else "slower"


def gmean(xs: list[float]) -> float | None:
    return float(np.exp(np.mean(np.log(xs)))) if xs and min(xs) > 0 else None


def row(key: Key, metric: str, base: Side, cont: Side) -> Row:
    """One row, its verdict left empty where it is to be tested."""
    b, c = base.values[key].get(metric, []), cont.values[key].get(metric, [])
    out = Row(key[0], key[1], metric, gmean(b), gmean(c), len(b), len(c))
    need = ops_needed(metric)
    had = min([*base.ops.get(key, [0]), *cont.ops.get(key, [0])])
    if out.baseline is None or out.contender is None:
        out.verdict = NOT_MEASURED
    elif need is not None and had < need:
        out.diff_pct = 100.0 * (out.contender / out.baseline - 1.0)
        out.verdict = f"too few samples for {metric} (need >= {need:,} ops per trial, had {had:,})"
    elif len(b) < 2 or len(c) < 2:
        out.diff_pct = 100.0 * (out.contender / out.baseline - 1.0)
        out.verdict = NO_VERDICT
    return out


def compare(base: Side, cont: Side, noise_pct: float) -> Comparison:
    out = Comparison(base.label, cont.label, noise_pct, state_differences(base, cont))
    out.rows = [row(key, metric, base, cont) for key in base.values if key in cont.values for metric in rf.METRICS]
    groups: dict[tuple[int, int], list[Row]] = {}  # rows to test, by their trial counts (one array each)
    for r in out.rows:
        if not r.verdict:
            groups.setdefault((r.baseline_trials, r.contender_trials), []).append(r)
    for rows in groups.values():
        pick = [((r.store, r.op), r.metric) for r in rows]
        tests = welch_log(np.array([base.values[k][m] for k, m in pick]),
                          np.array([cont.values[k][m] for k, m in pick]))
        for r, (diff, p, ci) in zip(rows, tests, strict=True):
            r.diff_pct, r.p_value, r.ci_pct = diff, p, ci
    tested = [r for r in out.rows if r.p_value is not None]
    if tested:
        adjusted = multipletests([r.p_value for r in tested], alpha=ALPHA, method=CORRECTION)[1]
        for r, p in zip(tested, adjusted, strict=True):
            assert r.diff_pct is not None
            r.p_adjusted = float(p)
            r.verdict = verdict(r.metric, r.diff_pct, r.p_adjusted, noise_pct)
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
    ops: dict[Key, list[int]] = {}
    for trial in folder.trials:
        for (store, op), measured in trial.operations().items():
            if only is not None and store != only:
                continue
            key = (store if rename is None else rename, op)
            ops.setdefault(key, []).append(int(measured["ok"]) if "ok" in measured
                                           else decode(measured.get("hdr", "")).get_total_count())
            for metric, value in rf.metrics(measured).items():
                if value is not None:
                    values.setdefault(key, {}).setdefault(metric, []).append(value)
    states = store_states(folder, read)
    if only is not None:
        states = {only if rename is None else rename: states.get(only, "not checked")}
    label = folder.label if only is None else f"{only} ({folder.label})"
    return Side(label, values, len(folder.trials), states, ops)
