"""The restore drill end to end on a native stack of its own: `sandbox run drill` against real servers, a real
kill -9 and a deleted data directory; and its refusals (one line, exit 2)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sandbox.errors import UsageError
from sandbox.experiments.backups.steps import disaster_moment, seconds
from sandbox.scenario.spec import RunParams
from tests.helpers import sandbox, throwaway_stack, validate_phase

TEST_OFFSET = 4680


def test_redis_drill_loses_exactly_what_came_after_the_newest_snapshot(tmp_path: Path) -> None:
    with throwaway_stack(tmp_path / "state", TEST_OFFSET, ["redis"]) as t:
        proc = sandbox("run", "drill", "--stores", "redis", "--seed", "5", "-p", "every=1s", "-p", "backups=2",
                       "-p", "rate=150", env=t.env, timeout=120)
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
        summary = json.loads(next(t.ws.results_dir.glob("*-drill/summary.json")).read_text())
    row = summary["backups"]["rows"][0]
    assert row["error"] is None, row
    assert len(row["backups"]) == 2 and all(b["size_bytes"] > 0 for b in row["backups"])
    newest = row["backups"][-1]
    # Every root acknowledged before the newest BGSAVE began is in it; what was acknowledged after the fork is lost.
    assert row["present_after"] >= newest["acked_before"]
    assert row["lost"] == row["acknowledged"] - row["counts"]["ok"]
    assert row["lost"] > 0 and row["lost_window_s"][0] < 1.0 + row["disaster_at_s"] - newest["at_s"]
    assert 0 < row["rto_s"] < 30
    assert "backups" in proc.stdout and "RPO" in proc.stdout


def test_a_drill_refuses_a_server_the_stack_did_not_start(tmp_path: Path) -> None:
    with throwaway_stack(tmp_path / "state", TEST_OFFSET) as t:
        proc = sandbox("run", "drill", "--stores", "redis", "-p", "every=1s",
                       env={**t.env, "SANDBOX_REDIS_URL": "redis://:x@127.0.0.1:1/0"}, timeout=60)
    assert proc.returncode == 2, proc.stdout[-1500:] + proc.stderr[-1500:]
    assert "Traceback" not in proc.stderr + proc.stdout


def test_bad_schedule_is_one_line() -> None:
    with pytest.raises(UsageError, match="every must be a duration"):
        validate_phase("backup_drill", {"every": "soon"}, RunParams(stores=("redis",)))


def test_the_disaster_moment_is_the_seeds() -> None:
    assert disaster_moment(3, "redis", 2.0, 2) == disaster_moment(3, "redis", 2.0, 2)
    assert 4.0 < disaster_moment(3, "redis", 2.0, 2) < 6.0
    assert seconds("500ms", "every") == 0.5 and seconds("2m", "every") == 120.0
