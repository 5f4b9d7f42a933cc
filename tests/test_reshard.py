"""The reshard scenario on a throwaway native Redis Cluster (its own ports and state dir), small load:
slots move onto a fourth master and off it again, clients are redirected, and no order is lost,
listed twice or changed. Needs redis-server and redis-cli (apt-get install -y redis-server)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from sandbox.experiments.sharding.reshard import CLUSTER_PORT
from sandbox.stack.pids import port_open
from sandbox.stack.redis_cluster import NativeRedisCluster, cluster_root, parse_nodes
from sandbox.workload.sharding import key_slot
from tests.helpers import assert_usage_error, sandbox, throwaway_stack

EXTRA_OFFSET = 20  # beside the cluster ports the scenario uses at the shared offset


def test_reshard_moves_slots_and_keeps_every_order(tmp_path: Path) -> None:
    if shutil.which("redis-server") is None or shutil.which("redis-cli") is None:
        pytest.fail("redis-server and redis-cli are needed: apt-get install -y redis-server (or `make up`)")
    offset = int(os.environ.get("SANDBOX_PORT_OFFSET", "0")) + EXTRA_OFFSET
    env = {"SANDBOX_STATE_DIR": str(tmp_path / "state"), "SANDBOX_RESULTS_DIR": str(tmp_path / "results"),
           "SANDBOX_PORT_OFFSET": str(offset)}
    proc = sandbox("run", "reshard", "--seed", "3", "-p", "rate=80", "-p", "read_rate=80", "-p", "settle_s=1",
                   "-p", "prefill=300", env=env, timeout=400)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
    (run_dir,) = (tmp_path / "results").iterdir()
    result = json.loads((run_dir / "summary.json").read_text())["experiments"]["reshard"]

    grow = result["grow"]
    assert grow["masters"] == 4 and 0.2 < grow["slot_share"] < 0.3  # rebalance aims at 1/4 of 16384
    assert 0.1 < grow["key_share"] < 0.4
    assert result["shrink"] == {"slots_left_on_removed": 0, "masters_after": 3}
    for phase in ("grow", "shrink"):
        counts = result["redirections"][phase]
        assert counts["MOVED"] + counts["ASK"] > 0, f"no client was redirected while {phase}ing: {counts}"

    check = result["check"]["counts"]
    assert check["lost"] == check["divergent"] == check["unexpected"] == 0
    assert result["duplicates"] == 0 and result["aggregates_match"]
    assert check["ok"] == result["operations"]["write"]["ok"] + 300 > 300
    assert result["slot_check"]["keys"] > 0 and result["slot_check"]["mismatches"] == []
    # Latency per second was recorded through both migration windows.
    assert [e["event"] for e in result["events"]] == ["add-node", "rebalance onto the new master",
                                                      "drain and del-node"]
    assert max(row["second"] for row in result["timeline"]) > result["events"][-1]["end_s"]
    # The cluster is gone: every node stopped by PID.
    assert not any(port_open(port) for port in result["ports"])


def test_bad_reshard_parameters_exit_2(tmp_path: Path) -> None:
    proc = sandbox("run", "reshard", "-p", "masters=2", env={"SANDBOX_RESULTS_DIR": str(tmp_path)})
    assert_usage_error(proc, "masters must be a whole number from 3")
    proc = sandbox("run", "reshard", "-p", "write_path=pipeline", env={"SANDBOX_RESULTS_DIR": str(tmp_path)})
    assert_usage_error(proc, "write_path must be one of script, multi")
    assert not any(tmp_path.iterdir())


def test_key_slot_matches_what_redis_answered() -> None:
    # CLUSTER KEYSLOT answers of redis-server 7.0.15 (the scenario above also checks live keys).
    answers = {"123456789": 12739, "{user1000}.following": 3443, "foo{}{bar}": 8363, "foo{{bar}}zap": 4015,
               "foo{bar}{zap}": 5061, "sbx_x:{3560}:orders": 0}
    assert {key: key_slot(key) for key in answers} == answers


def test_cluster_nodes_parsing() -> None:
    text = ("07c3 127.0.0.1:30004@40004 master - 0 1 7 connected 0-5460 10923 [5461->-e7d1]\n"
            "67ed 127.0.0.1:30002@40002 myself,master - 0 0 2 connected 5461-10922\n"
            "824f 127.0.0.1:30005@40005 slave 67ed 0 1 5 connected\n")
    nodes = parse_nodes(text)
    assert [(n.port, n.slots, n.master) for n in nodes] == [(30004, 5462, True), (30002, 5462, True),
                                                           (30005, 0, False)]


def test_down_stops_cluster_nodes_a_killed_run_left(tmp_path: Path) -> None:
    with throwaway_stack(tmp_path / "state", EXTRA_OFFSET + 5) as t:
        port = t.ws.shifted(CLUSTER_PORT)
        cluster = NativeRedisCluster(cluster_root(t.ws.state_dir), [port], "pw")
        cluster.start()  # as a reshard run would, before being SIGKILLed
        assert port_open(port)
        t.stack.down()
        assert not port_open(port) and not (cluster_root(t.ws.state_dir) / "nodes.json").read_text().strip("{}\n ")
