"""Bad fault input on the command line: one line, exit 2, before anything starts or is written."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(("args", "message"), [
    (["outage", "--stores", "postgres,mongo"], "fault 1: store 'redis' is not in this run"),
    (["outage", "-p", "store=cassandra"], "fault 1: store 'cassandra' is not in this run"),
    (["outage", "--orders", "50", "-p", "at_op=50"], "is after the run ends"),
    (["outage", "-p", "action=explode"], "outage: action must be kill, stop or pause"),
    (["outage", "-p", "nosuch=1"], "--param nosuch: no step of scenario outage takes it"),
    (["durability", "-p", "profiles=redis.appendonly=maybe"], "durability redis.appendonly: expected one of"),
    (["durability", "-p", "repeat=0"], "durability: repeat must be a positive whole number"),
    (["durability", "-p", "kill_after_s=-1"], "durability: kill_after_s must be a positive number"),
    (["durability", "-p", "kill_at_acked=1.5"], "durability: kill_at_acked must be a positive whole number"),
    (["durability", "-p", "aim=somewhere"], "durability: aim must be window, point or ack"),
    (["durability", "-p", "aim=ack"], "durability: aim=ack freezes the server right after the N-th"),
    (["durability", "--stores", "mongo,mongo:referenced"], "designs of one kind share it"),
])
def test_bad_fault_input_is_one_line_and_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    env = {**os.environ, "SANDBOX_RESULTS_DIR": str(tmp_path / "results"), "SANDBOX_PROJECT_DIR": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "sandbox", "run", *args, "--backend", "native"],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=60)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], proc.stderr
    assert not (tmp_path / "results").exists()  # nothing written
