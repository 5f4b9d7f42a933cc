"""The measurement options end to end through the `sandbox` command (bad input, and real runs on the stack)."""

from __future__ import annotations

import csv
import json
import os
import subprocess
from pathlib import Path

import pytest

from sandbox.measure.hlog import read_log
from tests.helpers import SANDBOX

PROJECT = Path(__file__).resolve().parent.parent


def sandbox(*args: str, results: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SANDBOX_PROJECT_DIR": str(PROJECT), "SANDBOX_RESULTS_DIR": str(results)}
    return subprocess.run([*SANDBOX, *args], capture_output=True, text=True, env=env, timeout=120)


@pytest.mark.parametrize("args, words", [
    (("run", "orders", "--rate", "0"), "--rate must be a positive"),
    (("run", "orders", "--rate", "-5"), "--rate must be a positive"),
    (("run", "orders", "--duration", "0"), "--duration must be a positive"),
    (("run", "orders", "--duration", "-2"), "--duration must be a positive"),
    (("run", "orders", "--concurrency", "0"), "--concurrency must be a positive"),
    (("run", "orders", "--concurrency", "-1"), "--concurrency must be a positive"),
    (("run", "orders", "--warmup", "-1"), "--warmup"),
    (("run", "orders", "--arrival", "bursty", "--rate", "10"), "--arrival must be constant or poisson"),
    (("run", "orders", "--processes", "lots"), "--processes must be one or per-store"),
    (("run", "orders", "--repeat", "0"), "--repeat must be a positive"),
    (("run", "orders", "-o", "redis.client=jedis"), "-o redis.client=jedis: expected redis-py | valkey-glide"),
    (("run", "orders", "--workers", "0"), "--workers must be a whole number from 1 to 64"),
    (("calibrate", "--concurrency", "0"), "--concurrency must be a positive"),
    (("calibrate", "--rate", "-1"), "--rate must be a positive"),
])
def test_bad_measurement_options_exit_2_with_one_line(args: tuple[str, ...], words: str, tmp_path: Path) -> None:
    done = sandbox(*args, results=tmp_path)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0] and "Traceback" not in done.stderr, done.stderr
    assert list(tmp_path.iterdir()) == [], "nothing written"


def test_calibrate_prints_harness_overhead(tmp_path: Path) -> None:
    done = sandbox("calibrate", "--ops", "20000", results=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "harness only" in done.stdout and "order generation only" in done.stdout and "us/op" in done.stdout


@pytest.mark.stores("postgres", "redis")
def test_open_loop_run_with_worker_processes_writes_three_times_flags_and_a_timeline(tmp_path: Path) -> None:
    done = sandbox("run", "orders", "--stores", "postgres,redis", "--rate", "150", "--duration", "2", "--warmup",
                   "0.5", "--processes", "per-store", "--seed", "5", results=tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr
    [run_dir] = list(tmp_path.iterdir())
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["params"]["rate"] == 150 and summary["params"]["processes"] == "per-store"
    for store in ("postgres", "redis"):
        write = summary["stores"][store]["operations"]["write"]
        for key in ("latency_ms", "service_ms", "processing_ms"):
            assert write[key]["p50"] is not None, key
        assert write["latency_ms"]["p50"] >= write["service_ms"]["p50"]
        assert write["warmup_ops"] > 0 and 250 <= write["ok"] <= 301
        assert write["client"]["target_rate"] == 150 and "flags" in write
        assert store in summary["measurement_flags"]
        assert summary["stores"][store]["consistency"]["consistent"]
    rows = list(csv.DictReader((run_dir / "timeline.csv").open()))
    seconds = {(r["store"], r["op"]) for r in rows if int(r["ok"]) > 0}
    assert seconds == {(store, op) for store in ("postgres", "redis") for op in ("write", "read")}
    assert sum(int(r["ok"]) for r in rows if r["store"] == "redis" and r["op"] == "write") == \
        summary["stores"]["redis"]["operations"]["write"]["ok"]
    # The workers' interval histograms reach the parent's .hlog files: they add up to the whole histogram.
    logged, intervals = read_log(run_dir / "hlog" / "redis.write.response.hlog")
    assert intervals >= 2 and logged.get_total_count() == summary["stores"]["redis"]["operations"]["write"]["ok"]


@pytest.mark.stores("postgres", "redis")
def test_two_workers_per_store_write_the_stream_once_at_the_asked_rate(tmp_path: Path) -> None:
    done = sandbox("run", "orders", "--stores", "postgres,redis", "--workers", "2", "--orders", "400", "--rate", "200",
                   "--seed", "5", results=tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr
    [run_dir] = list(tmp_path.iterdir())
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["params"]["workers"] == 2
    for store in ("postgres", "redis"):
        write = summary["stores"][store]["operations"]["write"]
        assert write["ok"] == 400 and write["client"]["processes"] == 2
        assert write["client"]["target_rate"] == 200  # 100/s from each worker
        assert summary["stores"][store]["consistency"]["consistent"]  # every order once, none missing
    rows = list(csv.DictReader((run_dir / "timeline.csv").open()))
    assert sum(int(r["ok"]) for r in rows if r["store"] == "redis" and r["op"] == "write") == 400
