"""The disk-full scenario on the native servers (root, `unshare -m`): each store's data directory on a small
tmpfs in a private mount namespace, filled, written, the space given back, restarted, every order checked.

What is certain is checked: the disk did fill (writes refused or left unknown, with the server's own "no
space" error), every order is classified, PostgreSQL (fsync and synchronous commit on) loses nothing it
acknowledged and takes writes again once the space is back, and the stack's servers end up on their
usual data with no tmpfs left behind."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sandbox.config import Workspace
from sandbox.errors import UsageError
from sandbox.experiments.exhaustion.disk_full import AFTER_RESTART_WRITES
from sandbox.stack.docker import DockerStack
from sandbox.stack.small_disk import unavailable
from sandbox.stores.registry import StoreRegistry
from tests.helpers import assert_usage_error, sandbox, throwaway_stack

pytestmark = pytest.mark.stores("postgres", "influx")  # the stores its tests start or use
ORDERS = 3000
# The servers' own words for a full disk (InfluxDB's message is cut before its "no space left on device")
DISK_ERRORS = ("No space left on device", "error writing WAL entry")


def test_a_full_disk_on_postgres_and_influx_is_measured_and_recovered_from(tmp_path: Path) -> None:
    assert unavailable() is None, f"this test needs a small disk: {unavailable()}"
    with throwaway_stack(tmp_path / "state", extra_offset=680, stores=["postgres", "influx"]) as t:
        before = {s: t.stack.pid(s) for s in ("postgres", "influx")}
        proc = sandbox("run", "disk-full", "--stores", "postgres,influx", "--orders", str(ORDERS),
                       "-p", "headroom=256kb", "-p", "recovery_s=3", env=t.env, timeout=300)
        [folder] = t.ws.results_dir.glob("*-disk-full")
        summary = json.loads((folder / "summary.json").read_text())
        stores = summary["experiments"]["disk_full"]["stores"]
        never = any(s["recovery"]["first_ok_after_s"] is None for s in stores.values())  # a finding too
        expected = 3 if summary["check"]["has_findings"] or never else 0
        assert proc.returncode == expected, proc.stdout[-3000:] + proc.stderr
        assert "disk full: each store on a 128 MB tmpfs" in proc.stdout

        for name, s in stores.items():
            full = s["full"]
            assert full["acknowledged"] > 0 and full["failed"] + full["unknown"] > 0, (name, full)
            assert any(m in e for e in full["first_errors"] for m in DISK_ERRORS), (name, full["first_errors"])
            counts = s["after_restart"]["counts"]
            tried = ORDERS + s["recovery"]["tried"] + s["after_restart_writes"]["tried"]
            assert sum(counts.values()) == tried, (name, counts)  # every order in exactly one class
            assert s["after_restart_writes"]["ok"] == AFTER_RESTART_WRITES, (name, s)  # takes writes after a restart

        pg = stores["postgres"]
        assert pg["after_restart"]["counts"]["lost"] == 0, "PostgreSQL (fsync, synchronous commit) lost an ack"
        assert pg["recovery"]["first_ok_after_s"] is not None, "PostgreSQL took no write after the space returned"

        # back on their usual data, no small disk left: the servers the stack started before, restarted
        records = t.stack.records.all()
        assert not [k for k in records if k.endswith("@small-disk")], records
        for name in before:
            assert t.stack.pid(name) is not None and t.stack.pid(name) != before[name]
            assert str(t.stack.store_dir(name)) not in Path("/proc/self/mounts").read_text()


def test_disk_full_refuses_bad_values() -> None:
    assert_usage_error(sandbox("run", "disk-full", "-p", "headroom=200mb"), "headroom", "smaller than size")
    assert_usage_error(sandbox("run", "disk-full", "-p", "recover=shrink"), "recover must be delete or grow")


def test_the_docker_backend_refuses_a_small_disk_in_one_line_and_has_no_data_dir_here(tmp_path: Path) -> None:
    stack = DockerStack(Workspace(tmp_path, tmp_path / "state", tmp_path / "results", port_offset=100),
                        StoreRegistry.built_in())
    with pytest.raises(UsageError, match="needs the native backend") as refused:
        stack.small_disk("postgres", 128 << 20)
    assert "\n" not in str(refused.value) and "docs/faults.md" in str(refused.value)
    assert stack.store_dir("postgres") is None  # so durability -p busy_disk=on refuses it too
