"""Elasticsearch routing: the shard predicted here against the one the configured server answers
(`_search_shards?routing=`), and Elasticsearch's routing-shard arithmetic."""

from __future__ import annotations

import json
from pathlib import Path

from sandbox.config import Settings
from sandbox.workload.sharding import es_routing_shards, es_shard
from tests.helpers import assert_usage_error, sandbox


def test_routing_shards_follow_elasticsearch() -> None:
    # shards x 2^k, the largest not above 1024, and split at least once (MetadataCreateIndexService).
    assert {n: es_routing_shards(n) for n in (1, 2, 3, 5, 16, 600, 1000)} == {
        1: 1024, 2: 1024, 3: 768, 5: 640, 16: 1024, 600: 1200, 1000: 2000}
    assert all(0 <= es_shard(f"c{i}", 7) < 7 for i in range(500))
    assert {es_shard(f"c{i}", 1) for i in range(50)} == {0}


def test_predicted_shard_is_the_servers(tmp_path: Path, live: Settings) -> None:
    proc = sandbox("run", "es-routing", "--seed", "4", "-p", "keys=120", "-p", "shards=7",
                   env={"SANDBOX_RESULTS_DIR": str(tmp_path)})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (run_dir,) = tmp_path.iterdir()
    result = json.loads((run_dir / "summary.json").read_text())["experiments"]["routing"]
    assert result["matched"] == 120 and result["mismatches"] == 0
    assert sum(result["per_shard"].values()) == 120 and len(result["per_shard"]) == 7


def test_bad_shard_count_exits_2(tmp_path: Path) -> None:
    proc = sandbox("run", "es-routing", "-p", "shards=0", env={"SANDBOX_RESULTS_DIR": str(tmp_path)})
    assert_usage_error(proc, "shards must be a whole number from 1")
    assert not any(tmp_path.iterdir())
