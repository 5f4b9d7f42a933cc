"""Bad strategy input: one line, exit 2, before anything starts or connects; a store a strategy cannot feed: left
out, saying so."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.stores("postgres", "mongo", "redis")  # the stores its tests start or use
ROOT = Path(__file__).resolve().parents[1]


def run(*args: str, tmp: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SANDBOX_RESULTS_DIR": str(tmp / "results"), **(env or {})}
    return subprocess.run([sys.executable, "-m", "sandbox", "run", *args, "--backend", "native"], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=60)


def test_unknown_strategy_is_one_line_and_exit_2(tmp_path: Path) -> None:
    proc = run("strategies", "--strategies", "outbox,two-phase-commit", "--orders", "10", tmp=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines() == [
        "error: unknown strategy 'two-phase-commit': choose from dual-write, dual-write-concurrent, outbox, "
        "event-sourcing, saga"]
    assert "run " not in proc.stdout and not (tmp_path / "results").exists()


def test_strategy_without_its_store_is_one_line_and_exit_2(tmp_path: Path) -> None:
    proc = run("outbox", "--stores", "mongo,redis", "--orders", "10", tmp=tmp_path)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "source = 'postgres' is not in the run" in lines[0], lines
    assert "run " not in proc.stdout and not (tmp_path / "results").exists()


def test_strategies_needing_the_orders_model_refuse_another_before_connecting(tmp_path: Path) -> None:
    proc = run("strategies", "--model", "telemetry", "--orders", "10", tmp=tmp_path,
               # Nothing listens there: had the run connected first, it would fail with "not reachable".
               env={"SANDBOX_POSTGRES_URL": "postgresql://sandbox:x@127.0.0.1:9/sandbox"})
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines() == [
        "error: strategies event-sourcing, saga need the orders model (its lifecycle, stock and payments), not "
        "'telemetry': run them with --model orders, or choose --strategies dual-write,dual-write-concurrent,outbox"]
    assert "run " not in proc.stdout and not (tmp_path / "results").exists()


@pytest.mark.stores("postgres", "influx")
def test_a_store_without_upsert_is_left_out_of_the_outbox_saying_so(tmp_path: Path) -> None:
    proc = run("outbox", "--stores", "postgres,influx", "--orders", "10", "-p", "fault_store=none", tmp=tmp_path)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr
    assert "outbox: influx left out: its design of this model offers no Upsert" in " ".join(proc.stdout.split())
    (summary,) = (tmp_path / "results").glob("*/summary.json")
    [outcome] = json.loads(summary.read_text())["strategies"]
    assert outcome["stores"] == ["postgres"] and list(outcome["left_out"]) == ["influx"]
    assert outcome["acknowledged"] == 10 and outcome["divergence_after_recovery"]["divergent"] == 0
