"""The analytics and cache-aside scenarios end to end through the CLI, and their bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import throwaway_stack

pytestmark = pytest.mark.stores("postgres", "redis")  # the stores its tests start or use
ROOT = Path(__file__).resolve().parents[1]
CACHE_OFFSET = 700  # a private PostgreSQL + Redis: the cache-aside scenario kills Redis


def run(*args: str, tmp: Path, env: dict[str, str] | None = None,
        timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SANDBOX_RESULTS_DIR": str(tmp / "results"), **(env or {})}
    return subprocess.run([sys.executable, "-m", "sandbox", "run", *args, "--backend", "native"], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=timeout)


def summary(tmp: Path) -> dict:
    (path,) = (tmp / "results").glob("*/summary.json")
    return json.loads(path.read_text())


def test_bad_cache_and_analytics_input_is_one_line_and_exit_2(tmp_path: Path) -> None:
    for args, words in ((("cache-aside", "-p", "policies=ttl,lru"), "unknown cache policy 'lru'"),
                        (("cache-aside", "--orders", "100", "-p", "keys=500"), "keys must be"),
                        (("cache-aside", "--stores", "redis"), "origin = 'postgres' is not in the run"),
                        (("cache-aside", "-p", "kill_at_s=20"), "kill_at_s + down_s"),
                        (("analytics", "--stores", "mongo,redis"), "add it to --stores"),
                        (("analytics", "-p", "repeats=0"), "repeats and top")):
        proc = run(*args, tmp=tmp_path, timeout=60)
        assert proc.returncode == 2, (args, proc.stderr)
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and words in lines[0], (args, lines)
        assert not (tmp_path / "results").exists()


def test_analytics_scenario_every_store_agrees_or_says_why_not(tmp_path: Path) -> None:
    proc = run("analytics", "--orders", "400", "-p", "repeats=2", "-p", "window_share=0.5", "-p", "min_total=500",
               tmp=tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
    result = summary(tmp_path)["analytics"]
    assert set(result["stores"]) == {"postgres", "mongo", "redis", "elastic", "influx"}
    for store, answers in result["stores"].items():
        assert len(answers) == 5
        for query, a in answers.items():
            assert a["kind"] in ("reference", "agrees", "drift", "not answerable"), (store, query, a)
            if a["kind"] != "not answerable":
                assert a["rows"] > 0 and a["cold_n"] == 1 and a["warm_n"] == 2, (store, query, a)
    assert all(result["indexes"][store] for store in result["stores"])
    assert "not answerable from redis's model" in proc.stdout


def test_cache_aside_scenario_with_redis_killed(tmp_path: Path) -> None:
    with throwaway_stack(tmp_path / "state", CACHE_OFFSET, ["postgres", "redis"]) as t:
        proc = run("cache-aside", "--orders", "600", "-p", "keys=200", "-p", "duration_s=1",
                   "-p", "outage_duration_s=6", "-p", "kill_at_s=1.5", "-p", "down_s=2", "-p", "concurrency=4",
                   tmp=tmp_path, env={**t.env, "SANDBOX_RESULTS_DIR": str(tmp_path / "results")})
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
        policies = summary(tmp_path)["cache_aside"]
        assert [p["policy"] for p in policies] == ["ttl", "ttl-jitter", "single-flight", "xfetch", "invalidate",
                                                   "single-flight (redis killed)"]
        for p in policies[:-1]:
            assert p["reads"] > 50 and 0 < p["hit_ratio"] < 1 and p["pg_transactions"] >= p["origin_loads"]
        seconds = policies[-1]["timeline"]
        down = [s for s in seconds if 2 < s["t"] <= 3]  # wholly inside the outage
        after = seconds[-1]
        assert down and all(s["fallbacks"] == s["reads"] > 0 for s in down), seconds
        assert after["hits"] > 0 and after["fallbacks"] == 0, seconds
        assert any("redis killed" in f for f in policies[-1]["faults"])
