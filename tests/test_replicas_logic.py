"""Pure logic of the replicas feature: node names, replica URLs from configuration, recovery time."""

from __future__ import annotations

from pathlib import Path

import pytest

from sandbox.config import Workspace
from sandbox.errors import UsageError
from sandbox.measure.replication import ReplicaReads
from sandbox.stack.native import NativeStack
from sandbox.stores.registry import StoreRegistry
from sandbox.stores.replication import replica_node, replica_url, split_node

KINDS = StoreRegistry.built_in()


def test_node_names_round_trip() -> None:
    assert replica_node("postgres") == "postgres.replica1"
    assert split_node("redis.replica2") == ("redis", 2)
    assert split_node("redis") == ("redis", 0)


def test_replica_url_defaults_to_the_primary_url_on_the_replica_port(tmp_path: Path) -> None:
    ws = Workspace(tmp_path, tmp_path / "state", tmp_path / "results", port_offset=1000)
    settings = KINDS.settings("native", ws, environ={"SANDBOX_POSTGRES_URL": "postgresql://u:p@127.0.0.1:1/db"})
    rep = KINDS.kind("postgres").replication
    assert rep is not None
    assert replica_url(settings, ws, "postgres", rep) == f"postgresql://u:p@127.0.0.1:{rep.port + 1000}/db"


def test_configured_replica_url_wins(tmp_path: Path) -> None:
    ws = Workspace(tmp_path, tmp_path / "state", tmp_path / "results")
    given = "redis://:pw@replica.example:6380/0"
    settings = KINDS.settings("native", ws, environ={"SANDBOX_REDIS_REPLICA_URL": given})
    rep = KINDS.kind("redis").replication
    assert rep is not None and replica_url(settings, ws, "redis", rep) == given


def test_recovery_is_the_first_fresh_marker_back_within_the_usual_lag() -> None:
    reads = ReplicaReads("postgres", "async", "replica", started=100.0)
    # (ack s since start, lag s): the stall, then a marker acked after the resume still behind, then caught up
    reads.timeline = [(0.1, 0.001), (0.5, 2.4), (3.0, 0.3), (3.2, 0.002)]
    assert reads.recovery_s(resumed_at=102.9, baseline_s=0.01) == pytest.approx(3.202 - 2.9)
    assert reads.recovery_s(resumed_at=104.0, baseline_s=0.01) is None


def test_more_replicas_than_the_stack_runs_is_one_clear_error(tmp_path: Path) -> None:
    ws = Workspace(tmp_path, tmp_path / "state", tmp_path / "results")
    with pytest.raises(UsageError, match="--replicas 3: choose 0 to 2"):
        NativeStack(ws, {}, KINDS).up(["postgres"], replicas=3)


def test_a_replica_url_of_the_wrong_kind_is_one_clear_error(tmp_path: Path) -> None:
    ws = Workspace(tmp_path, tmp_path / "state", tmp_path / "results")
    with pytest.raises(UsageError, match=r"SANDBOX_POSTGRES_REPLICA_URL: expected a postgresql:// or postgres:// URL"):
        KINDS.settings("native", ws, environ={"SANDBOX_POSTGRES_REPLICA_URL": "redis://:secret@h:1/0"})
