"""`sandbox compare` on synthetic trial sets: a known 20% shift must be called, no shift must not."""

from __future__ import annotations

import json
import os
import random
import subprocess
from pathlib import Path

import numpy as np
import pytest

from sandbox.measure.latency import encode, new_histogram, summarize
from sandbox.report import folder as rf
from sandbox.report.compare import NO_VERDICT, compare, side, welch_log
from tests.helpers import SANDBOX

PROJECT = Path(__file__).resolve().parent.parent


def trial_summary(scale: float, rng: random.Random, consistent: bool = True, samples: int = 10_000) -> dict:
    """One trial: latencies drawn around `scale` ms (trial noise about ±2%), throughput 1000/scale ops/s."""
    jitter = 1 + rng.uniform(-0.02, 0.02)
    stores = {}
    for store in ("postgres", "redis"):
        ops = {}
        for op in ("write", "read"):
            hist = new_histogram()
            for _ in range(samples):  # 10 000: enough that the p99.9 of one trial is not itself ±5% noise
                hist.record_value(max(1, int(rng.lognormvariate(0, 0.25) * 1000 * scale * jitter)))
            ops[op] = {"ok": samples, "throughput_ops_s": 1000 / (scale * jitter), "latency_ms": summarize(hist),
                       "hdr": encode(hist), "hdr_service": encode(hist)}
        stores[store] = {"server": {"product": "synthetic", "version": "0"}, "operations": ops,
                         "consistency": {"consistent": consistent or store == "redis"}}
    return {"run_id": f"synthetic-{scale}", "scenario": "orders", "stores": stores}


def trial_set(path: Path, scale: float, trials: int, seed: int, consistent: bool = True,
              samples: int = 10_000) -> Path:
    rng = random.Random(seed)
    path.mkdir(parents=True)
    if trials == 1:
        (path / "summary.json").write_text(json.dumps(trial_summary(scale, rng, consistent, samples)))
        return path
    names = [f"trial-{i}" for i in range(1, trials + 1)]
    for name in names:
        (path / name).mkdir()
        (path / name / "summary.json").write_text(json.dumps(trial_summary(scale, rng, consistent, samples)))
    (path / "summary.json").write_text(json.dumps({"trials": names, "scenario": "orders"}))
    return path


def verdicts(base: Path, cont: Path) -> dict[tuple[str, str, str], str]:
    result = compare(side(rf.load(base)), side(rf.load(cont)), noise_pct=5.0)
    return {(r.store, r.op, r.metric): r.verdict for r in result.rows}


def test_a_20_percent_slowdown_is_called_slower_and_a_speedup_faster(tmp_path: Path) -> None:
    base = trial_set(tmp_path / "base", 1.0, 5, seed=1)
    slow = trial_set(tmp_path / "slow", 1.2, 5, seed=2)
    fast = trial_set(tmp_path / "fast", 1 / 1.2, 5, seed=3)
    assert set(verdicts(base, slow).values()) == {"slower"}, verdicts(base, slow)
    assert set(verdicts(base, fast).values()) == {"faster"}, verdicts(base, fast)


def test_no_shift_is_no_significant_change(tmp_path: Path) -> None:
    base = trial_set(tmp_path / "base", 1.0, 5, seed=1)
    same = trial_set(tmp_path / "same", 1.0, 5, seed=4)
    assert set(verdicts(base, same).values()) == {"no significant change"}, verdicts(base, same)


def test_a_single_trial_on_either_side_gives_no_verdict(tmp_path: Path) -> None:
    base = trial_set(tmp_path / "base", 1.0, 1, seed=1)
    slow = trial_set(tmp_path / "slow", 1.5, 5, seed=2)
    assert set(verdicts(base, slow).values()) == {NO_VERDICT}


def test_interval_brackets_the_true_shift() -> None:
    rng = random.Random(7)
    base = [100 * (1 + rng.uniform(-0.02, 0.02)) for _ in range(6)]
    cont = [120 * (1 + rng.uniform(-0.02, 0.02)) for _ in range(6)]
    [(diff, p, (lo, hi))] = welch_log(np.array([base]), np.array([cont]))
    assert 0 < lo < 20 < hi < 40 and lo < diff < hi and p < 0.001


def test_command_line_lists_consistency_differences_first_and_writes_html_and_json(tmp_path: Path) -> None:
    base = trial_set(tmp_path / "base", 1.0, 3, seed=1)
    cont = trial_set(tmp_path / "cont", 1.2, 3, seed=2, consistent=False)
    env = {**os.environ, "COLUMNS": "100", "SANDBOX_PROJECT_DIR": str(PROJECT)}
    done = subprocess.run([*SANDBOX, "compare", str(base), str(cont), "--noise", "5"], capture_output=True, text=True,
                          env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert max(len(line) for line in lines) <= 100
    first_diff = next(i for i, line in enumerate(lines) if "postgres: base: consistent; cont: INCONSISTENT" in line)
    first_row = next(i for i, line in enumerate(lines) if line.startswith(" postgres write"))
    assert first_diff < first_row
    data = json.loads((cont / "compare.json").read_text())
    assert {r["verdict"] for r in data[0]["rows"]} == {"slower"}
    assert (cont / "compare.html").is_file() and (cont / "plot-compare-write.png").is_file()


@pytest.mark.parametrize("args, words", [
    (("compare", "/nonexistent"), "not a results folder"),
    (("compare", "{base}"), "needs a CONTENDER"),
    (("compare", "{base}", "--stores", "postgres,nosuch"), "--stores needs two of the folder's stores"),
    (("compare", "{base}", "{base}", "--noise", "-1"), "--noise must be"),
    (("report", "/nonexistent"), "not a results folder"),
])
def test_bad_compare_input_exits_2_with_one_line(args: tuple[str, ...], words: str, tmp_path: Path) -> None:
    base = trial_set(tmp_path / "base", 1.0, 2, seed=1, samples=100)
    before = sorted(p.name for p in base.iterdir())
    done = subprocess.run([*SANDBOX, *(a.format(base=base) for a in args)], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 2, done.stdout + done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and words in done.stderr, done.stderr
    assert sorted(p.name for p in base.iterdir()) == before, "nothing written"
