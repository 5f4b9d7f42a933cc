"""The durability trials on a busy disk, on the native Redis: a writer forcing fsyncs in the state dir
while Redis (appendfsync everysec) is killed mid-stream, aimed at an AOF fsync in flight.

Whether the postponed-write window opens depends on this machine's disk, so the test checks what is
certain: the writer ran and its fsync latencies are in the results, Redis's own counters are there for
every trial, every acknowledged order is classified by the checker (lost ones included), and the
writer's file is gone afterwards."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sandbox.measure.checker import EXAMPLES
from tests.helpers import assert_usage_error, sandbox, throwaway_stack

pytestmark = pytest.mark.stores("redis")  # the stores its tests start or use
TRIALS = 2


def test_busy_disk_trials_report_the_disk_and_the_server_beside_every_loss(tmp_path: Path) -> None:
    state = tmp_path / "state"
    with throwaway_stack(state, extra_offset=690, stores=["redis"]) as t:
        proc = sandbox("run", "durability-busy-disk", "--stores", "redis", "-p", f"repeat={TRIALS}",
                       "-p", "kill_after_s=0.3", "-p", "busy_disk_mb=2", env=t.env, timeout=300)
        [folder] = t.ws.results_dir.glob("*-durability-busy-disk")
        summary = json.loads((folder / "summary.json").read_text())
        rows = summary["durability"]["rows"]
        lost = sum(r["lost"] for r in rows)
        assert proc.returncode == (3 if lost else 0), proc.stdout[-3000:] + proc.stderr

        loads = summary["durability"]["busy_disk"]
        assert [load["trial"] for load in loads] == list(range(1, TRIALS + 1))
        for load in loads:
            assert load["fsyncs"] > 0 and load["error"] is None, load
            fsync = load["fsync_ms"]
            assert 0 < fsync["p50"] <= fsync["p99"] <= fsync["max"], fsync
            assert load["file_removed"] and load["disk"]["fstype"] not in ("", "?"), load
        assert not (state / "busy-disk.tmp").exists(), "the writer's file is removed"
        assert "busy disk: writer fsync p50" in proc.stdout  # the line users read, per trial

        checks = [c["stores"]["redis"] for c in summary["check"]["reports"]]
        for row, check in zip(rows, checks, strict=True):
            state_at_kill = row["crash"]["state"]
            assert {"aof_pending_bio_fsync", "aof_delayed_fsync", "aof_last_write_status"} <= set(state_at_kill)
            assert "aof_delayed_fsync=" in row["server_state"] and row["disk"].startswith("busy disk:"), row
            counts = check["counts"]
            assert check["error"] is None and counts["lost"] == row["lost"], (row, counts)
            # every order the client saw acknowledged is in exactly one class after the restart
            assert counts["ok"] + counts["lost"] + counts["divergent"] == row["acknowledged"], (row, counts)
            if row["lost"]:  # named, order by order (the first few)
                assert len(check["examples"]["lost"]) == min(row["lost"], EXAMPLES), check


def test_busy_disk_refuses_bad_values(tmp_path: Path) -> None:
    proc = sandbox("run", "durability-busy-disk", "-p", "busy_disk=maybe")
    assert_usage_error(proc, "busy_disk must be on or off")
    proc = sandbox("run", "durability-busy-disk", "-p", "busy_disk_mb=0")
    assert_usage_error(proc, "busy_disk_mb")
