"""The partitioning scenario against the live PostgreSQL: rows land in N hash partitions, a customer's
orders in one, a query by the shard key visits one partition and the others all, and the schema is gone
afterwards."""

from __future__ import annotations

import json
from pathlib import Path

import asyncpg

from sandbox.config import Settings, endpoint
from tests.helpers import assert_usage_error, sandbox


async def test_partitions_prune_by_shard_key_only(tmp_path: Path, live: Settings) -> None:
    proc = sandbox("run", "partitioning", "--orders", "600", "--seed", "9", "-p", "partitions=5", "-p", "queries=20",
                   env={"SANDBOX_RESULTS_DIR": str(tmp_path)})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (run_dir,) = tmp_path.iterdir()
    summary = json.loads((run_dir / "summary.json").read_text())
    result = summary["experiments"]["partitioning"]
    rows = result["rows_per_partition"]
    assert sorted(rows) == [f"orders_p{i}" for i in range(5)] and sum(rows.values()) == 600
    assert result["customers_in_several_partitions"] == 0
    scanned = {column: q["plan"]["partitions"] for column, q in result["queries"].items()}
    assert scanned == {"customer_id": 1, "id": 5, "status": 5}
    assert result["queries"]["id"]["plan"]["rows"] == 1
    run_id = summary["run_id"]
    conn = await asyncpg.connect(endpoint(live, "postgres").url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM pg_namespace WHERE nspname LIKE $1", f"sbx_{run_id}%") == 0
    finally:
        await conn.close()


def test_bad_partition_count_exits_2(tmp_path: Path) -> None:
    proc = sandbox("run", "partitioning", "-p", "partitions=0", env={"SANDBOX_RESULTS_DIR": str(tmp_path)})
    assert_usage_error(proc, "partitions must be a whole number from 1")
    assert not any(tmp_path.iterdir())
