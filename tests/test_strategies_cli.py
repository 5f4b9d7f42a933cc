"""Bad strategy input: one line, exit 2, before anything starts or connects."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from sandbox.stores.base import Capability
from tests.plugin_store import KIND as MEMORY

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


def test_strategy_needing_upsert_on_a_store_without_it_stops_before_connecting(tmp_path: Path) -> None:
    # tests/plugin_store.py: a store kind from outside the package whose adapter offers no upsert.
    assert Capability.UPSERT not in MEMORY.capabilities
    proc = run("outbox", "--stores", "postgres,memory", "--orders", "10", "-p", "fault_store=none", tmp=tmp_path,
               # Nothing listens there: had the run connected first, it would fail with "not reachable".
               env={"SANDBOX_STORE_PLUGINS": "tests.plugin_store:KIND",
                    "SANDBOX_POSTGRES_URL": "postgresql://sandbox:x@127.0.0.1:9/sandbox"})
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip().splitlines() == [
        "error: strategy outbox needs upsert on memory, which its adapter does not offer: drop memory from "
        "--stores or choose another strategy"]
    assert "run " not in proc.stdout and not (tmp_path / "results").exists()
