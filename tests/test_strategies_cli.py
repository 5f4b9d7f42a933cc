"""Bad strategy input: one line, exit 2, before anything starts."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(*args: str, tmp: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SANDBOX_RESULTS_DIR": str(tmp / "results")}
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
    assert len(lines) == 1 and "strategy outbox needs postgres" in lines[0], lines
    assert "run " not in proc.stdout and not (tmp_path / "results").exists()
