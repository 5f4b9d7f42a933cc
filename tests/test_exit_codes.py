"""The exit-status contract (README), through the real command line on every path:
0 clean · 3 a finding (durability loss, a strategy that did not converge, a fault finding) ·
2 bad input, configuration or environment (one line) · 1 an internal error (one line; traceback only with
SANDBOX_DEBUG=1)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from sandbox.config import Settings
from tests.helpers import assert_usage_error, sandbox, throwaway_stack

# The real entry point with one command forced to fail the way a bug would (an exception nobody expected).
FORCED = """
import sys
import sandbox.cli.run as run_commands
from sandbox.cli import main
def broken(project_dir):
    raise RuntimeError("forced for the test")
run_commands.describe_all = broken
sys.argv = ["sandbox", "scenarios"]
main()
"""


def _forced(debug: bool) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "SANDBOX_DEBUG"}
    if debug:
        env["SANDBOX_DEBUG"] = "1"
    return subprocess.run([sys.executable, "-c", FORCED], capture_output=True, text=True, timeout=60, env=env)


def test_an_internal_error_is_one_line_exit_1_and_a_traceback_only_when_asked() -> None:
    proc = _forced(debug=False)
    assert proc.returncode == 1, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert lines[0].startswith("internal error: RuntimeError: forced for the test") and "SANDBOX_DEBUG=1" in lines[0]

    debug = _forced(debug=True)
    assert debug.returncode == 1 and "Traceback" in debug.stderr and "forced for the test" in debug.stderr


def test_status_with_an_unreachable_store_is_exit_2(live: Settings) -> None:
    proc = sandbox("status", env={"SANDBOX_REDIS_URL": "redis://:secret@127.0.0.1:1/0"})
    assert_usage_error(proc, "not reachable: redis", "sandbox up")
    assert "secret" not in proc.stdout + proc.stderr
    assert "PostgreSQL" in proc.stdout, "the reachable stores are still shown"


def test_a_fault_that_cannot_be_applied_ends_the_run_with_exit_2(tmp_path: Path, live: Settings) -> None:
    # The stores answer, but this state dir records no server the sandbox started: there is nothing to kill.
    proc = sandbox("run", "outage", "--stores", "redis", "--orders", "300", "-p", "down_s=0.2",
                   env={"SANDBOX_STATE_DIR": str(tmp_path / "state"), "SANDBOX_RESULTS_DIR": str(tmp_path / "r")},
                   timeout=120)
    assert_usage_error(proc, "fault not applied: kill redis", "it is not running")


def test_a_strategy_that_does_not_converge_in_time_is_exit_3(tmp_path: Path, live: Settings) -> None:
    proc = sandbox("run", "outbox", "--stores", "postgres,redis", "--orders", "60", "-p", "fault_store=none",
                   "-p", "settle_timeout_s=1e-9", env={"SANDBOX_RESULTS_DIR": str(tmp_path)}, timeout=180)
    assert proc.returncode == 3, proc.stdout[-3000:] + proc.stderr
    summary = json.loads(next(tmp_path.glob("*-outbox/summary.json")).read_text())
    [outcome] = summary["strategies"]
    assert outcome["settled"] is False and "settle timeout" in outcome["finding"]


def test_a_fault_finding_is_exit_3(tmp_path: Path) -> None:
    # The Elasticsearch stand-in keeps everything in memory: a kill loses what it had acknowledged.
    with throwaway_stack(tmp_path / "state", extra_offset=610, stores=["elastic"]) as t:
        proc = sandbox("run", "outage", "--stores", "elastic", "-p", "store=elastic", "-p", "down_s=0.3",
                       "--orders", "300", env=t.env, timeout=180)
        assert proc.returncode == 3, proc.stdout[-3000:] + proc.stderr
        summary = json.loads(next(t.ws.results_dir.glob("*-outage/summary.json")).read_text())
        assert summary["check"]["has_findings"] is True
        assert summary["check"]["reports"][-1]["stores"]["elastic"]["counts"]["lost"] > 0


def test_a_durability_loss_is_exit_3(tmp_path: Path) -> None:
    with throwaway_stack(tmp_path / "state", extra_offset=620, stores=["redis"]) as t:
        proc = sandbox("run", "durability", "--stores", "redis", "-p", "repeat=1", "-p", "kill_after_s=0.3", "-p",
                       "profiles=redis.appendonly=no", env=t.env, timeout=180)
        assert proc.returncode == 3, proc.stdout[-3000:] + proc.stderr
        summary = json.loads(next(t.ws.results_dir.glob("*-durability/summary.json")).read_text())
        [row] = summary["durability"]["rows"]
        assert row["store"] == "redis" and row["acknowledged"] > 0 and row["lost"] > 0
