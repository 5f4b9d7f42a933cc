"""`sandbox compare`'s verdicts on many synthetic comparisons: A/A (both sides from one distribution) must
call no row in at least 95% of them, and a real shift must be found, so that this can fail both ways.

The synthetic trials look like a real comparison: 3 stores x 2 operations x 4 metrics = 24 rows, 5 trials
a side, lognormal latencies (a heavier tail for some stores), each trial's percentiles drawn as the order
statistics of its operations (exactly as sampling that many operations would give them), throughput from
the trial's mean latency, and machine weather: every trial slowed or sped up together (lognormal), each
store and operation a little on its own, and now and then a trial hit by a noisy neighbour. Seeded.

`.venv/bin/python tests/test_compare_aa.py` prints the rates (docs/reports.md and README quote them).
"""

from __future__ import annotations

import gc
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtri

from sandbox.report.compare import Key, Side, compare

STORES = {  # (store, op): median ms, lognormal shape (tail weight)
    ("postgres", "write"): (1.2, 0.5), ("postgres", "read"): (0.4, 0.4),
    ("redis", "write"): (0.3, 0.6), ("redis", "read"): (0.25, 0.5),
    ("influx", "write"): (2.0, 0.8), ("influx", "read"): (3.0, 0.7),
}
QUANTILES = {"p50": 0.5, "p99": 0.99, "p99.9": 0.999}
CHANGED = ("faster", "slower")


@dataclass(frozen=True)
class Machine:
    """Trial-to-trial noise: lognormal sigma of the whole trial, of one store/op, and the noisy neighbour."""

    trial: float = 0.05
    own: float = 0.03
    neighbour_chance: float = 0.1  # a trial on a busy machine ...
    neighbour_slowdown: float = 0.15  # ... runs about this much slower (log scale)


QUIET = Machine(trial=0.02, own=0.01, neighbour_chance=0.0)


def trial_values(rng: np.random.Generator, ops: int, machine: Machine) -> dict[Key, dict[str, float]]:
    weather = rng.lognormal(0, machine.trial)
    if rng.random() < machine.neighbour_chance:
        weather *= rng.lognormal(machine.neighbour_slowdown, machine.neighbour_slowdown / 3)
    ks = np.ceil(np.array(list(QUANTILES.values())) * ops)
    out = {}
    for key, (median, shape) in STORES.items():
        factor = weather * rng.lognormal(0, machine.own)
        tail = np.exp(shape * ndtri(rng.beta(ks, ops + 1 - ks)))  # the k-th smallest of n uniforms: Beta(k, n+1-k)
        metrics = {metric: float(median * factor * x) for metric, x in zip(QUANTILES, tail, strict=True)}
        mean = median * np.exp(shape**2 / 2) * (1 + rng.normal(0, np.sqrt(np.expm1(shape**2) / ops)))
        metrics["throughput"] = 8 * 1000 / float(mean * factor)  # 8 concurrent clients, closed loop
        out[key] = metrics
    return out


def synthetic_side(rng: np.random.Generator, label: str, trials: int = 5, ops: int = 10_000,
                   machine: Machine = Machine(), shift: dict[tuple[str, str, str], float] | None = None) -> Side:
    """`trials` trials of `ops` operations per store/op; `shift` multiplies some (store, op, metric) values."""
    values: dict[Key, dict[str, list[float]]] = {key: {} for key in STORES}
    for _ in range(trials):
        for key, metrics in trial_values(rng, ops, machine).items():
            for metric, value in metrics.items():
                values[key].setdefault(metric, []).append(value * (shift or {}).get((*key, metric), 1.0))
    return Side(label, values, trials, {}, {key: [ops] * trials for key in STORES})


def verdict_sets(n: int, seed: int, shift: dict[tuple[str, str, str], float] | None = None,
                 **kw: object) -> list[dict[tuple[str, str, str], str]]:
    """`n` comparisons of a baseline against a contender (shifted by `shift`), their verdicts per row."""
    rng = np.random.default_rng(seed)
    out = []
    gc.freeze()  # statsmodels' Holm runs gc.collect() on every call: keep it from walking the whole heap
    try:
        for _ in range(n):
            base = synthetic_side(rng, "a", **kw)  # type: ignore[arg-type]
            cont = synthetic_side(rng, "b", shift=shift, **kw)  # type: ignore[arg-type]
            out.append({(r.store, r.op, r.metric): r.verdict for r in compare(base, cont, noise_pct=5.0).rows})
    finally:
        gc.unfreeze()
    return out


def any_change_rate(sets: list[dict[tuple[str, str, str], str]], skip: tuple[tuple[str, str, str], ...] = ()) -> float:
    """The share of comparisons calling any row (other than `skip`) faster or slower."""
    return sum(any(v in CHANGED for k, v in s.items() if k not in skip) for s in sets) / len(sets)


def found_rate(sets: list[dict[tuple[str, str, str], str]], row: tuple[str, str, str], word: str) -> float:
    return sum(s[row] == word for s in sets) / len(sets)


ONE_ROW = ("influx", "write", "p99")  # the shifted row of the power tests
WRITES = tuple((store, "write", m) for store in ("postgres",) for m in ("throughput", "p50", "p99", "p99.9"))


def test_a_a_comparisons_call_no_row_in_95_percent_of_them() -> None:
    sets = verdict_sets(1000, seed=29)
    assert len(sets[0]) == 24 and not any("too few" in v for v in sets[0].values()), sets[0]
    assert any_change_rate(sets) <= 0.05


def test_a_a_with_1000_ops_leaves_p999_without_verdict_and_calls_nothing() -> None:
    sets = verdict_sets(400, seed=30, ops=1000)
    assert all(v.startswith("too few samples for p99.9 (need >= 10,000 ops per trial, had 1,000)")
               for s in sets for (_, _, m), v in s.items() if m == "p99.9")
    assert any_change_rate(sets) <= 0.05


def test_a_real_30_percent_shift_in_one_row_is_found_and_the_others_stay_quiet() -> None:
    sets = verdict_sets(400, seed=31, shift={ONE_ROW: 1.3}, machine=QUIET)
    assert found_rate(sets, ONE_ROW, "slower") >= 0.8
    assert any_change_rate(sets, skip=(ONE_ROW,)) <= 0.05


def test_a_30_percent_speedup_in_one_row_is_called_faster() -> None:
    sets = verdict_sets(200, seed=32, shift={ONE_ROW: 1 / 1.3}, machine=QUIET)
    assert found_rate(sets, ONE_ROW, "faster") >= 0.8


def test_untouched_rows_stay_quiet_while_one_store_writes_change_a_lot() -> None:
    """The false alarm seen with --batch 20: writes changed, reads untouched, and a read row called slower."""
    shift = {row: (2.0 if row[2] == "throughput" else 0.5) for row in WRITES}
    sets = verdict_sets(400, seed=33, shift=shift)
    assert min(found_rate(sets, row, "faster") for row in WRITES) >= 0.8
    assert any_change_rate(sets, skip=WRITES) <= 0.05


def test_a_shift_inside_the_noise_band_gets_no_verdict() -> None:
    sets = verdict_sets(200, seed=34, shift={ONE_ROW: 1.03}, machine=QUIET)
    assert found_rate(sets, ONE_ROW, "slower") == 0


if __name__ == "__main__":
    aa = verdict_sets(1000, seed=29)
    print(f"A/A, 24 rows, 5 vs 5 trials, 10,000 ops: {any_change_rate(aa):.1%} of 1,000 comparisons call any row")
    aa = verdict_sets(1000, seed=30, ops=1000)
    print(f"A/A, 1,000 ops (p99.9 without verdict): {any_change_rate(aa):.1%} of 1,000 comparisons call any row")
    for machine, name in ((QUIET, "quiet machine (trial noise ~2%)"), (Machine(), "default machine (~6%)")):
        for factor in (1.1, 1.2, 1.3, 1.5):
            sets = verdict_sets(400, seed=31, shift={ONE_ROW: factor}, machine=machine)
            print(f"{name}: +{factor - 1:.0%} in one row found in {found_rate(sets, ONE_ROW, 'slower'):.0%}, "
                  f"another row called in {any_change_rate(sets, skip=(ONE_ROW,)):.1%}")
