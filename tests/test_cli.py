"""The command line as a user meets it: exit statuses, one-line errors, results, cleanup."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sandbox.config import Settings
from sandbox.stack.docker import engine_available
from sandbox.stores.registry import StoreRegistry
from tests.helpers import assert_usage_error, sandbox
from tests.raw import Raw


@pytest.mark.parametrize(("args", "words"), [
    (("run", "nosuch"), ("unknown scenario 'nosuch'", "orders")),
    (("run", "orders", "--orders", "0"), ("--orders must be a positive",)),
    (("run", "orders", "--concurrency", "-3"), ("--concurrency must be a positive",)),
    (("run", "orders", "--stores", "postgres,cassandra"), ("unknown store cassandra",)),
    (("run", "orders", "-o", "elastic.refresh=sometimes"), ("elastic.refresh=sometimes: expected false | wait_for",)),
    (("run", "orders", "-o", "redis.client=hiredis"), ("-o redis.client=hiredis: expected redis-py | valkey-glide",)),
    (("run", "orders", "-o", "redis.color=red"), ("redis has no option 'color'", "its options: client")),
    (("run", "orders", "-o", "cassandra.x=1"), ("unknown store cassandra",)),
    (("run", "orders", "-o", "redis-client"), ("expected <store>.<option>=<value>",)),
    (("up", "--backend", "podman"), ("unknown backend 'podman'",)),
    (("run", "orders", "--orders", "many"), ("Invalid value for '--orders'",)),
])
def test_bad_input_is_one_line_and_exit_2(args: tuple[str, ...], words: tuple[str, ...], tmp_path: Path) -> None:
    proc = sandbox(*args, env={"SANDBOX_RESULTS_DIR": str(tmp_path)})
    assert_usage_error(proc, *words)
    assert not any(tmp_path.iterdir()), "nothing may be written on bad input"


def test_docker_backend_without_engine_says_so() -> None:
    proc = sandbox("status", "--backend", "docker")
    if engine_available():  # the compose stack answers (0) or a store is not reachable (2): never a crash
        assert proc.returncode == 0 or (proc.returncode == 2 and "not reachable" in proc.stderr), proc.stderr
        assert "Traceback" not in proc.stderr + proc.stdout
    else:
        assert_usage_error(proc, "no Docker engine")


def test_unreachable_store_stops_the_run_before_anything_is_written(tmp_path: Path, live: Settings) -> None:
    proc = sandbox("run", "orders", "--orders", "10", env={
        "SANDBOX_RESULTS_DIR": str(tmp_path), "SANDBOX_REDIS_URL": "redis://:secret@127.0.0.1:1/0"})
    assert_usage_error(proc, "redis is not reachable", "sandbox up")
    assert "secret" not in proc.stderr
    assert not any(tmp_path.iterdir())


async def test_orders_scenario_end_to_end(tmp_path: Path, live: Settings) -> None:
    proc = sandbox("run", "orders", "--orders", "150", "--seed", "42", "--concurrency", "4", "--batch", "7",
                   env={"SANDBOX_RESULTS_DIR": str(tmp_path)})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
    assert "consistent" in proc.stdout and "INCONSISTENT" not in proc.stdout
    [summary_path] = tmp_path.glob("*-orders/summary.json")
    summary = json.loads(summary_path.read_text())
    assert summary["seed"] == 42 and summary["consistent"] is True
    assert set(summary["stores"]) == set(StoreRegistry.built_in().names)
    for store in summary["stores"].values():
        assert store["server"]["product"] and store["server"]["version"]
        write = store["operations"]["write"]
        assert write["orders"] == 150 and write["failed"] == 0 and write["unknown"] == 0
        assert 0 < write["latency_ms"]["p50"] <= write["latency_ms"]["p99"] <= write["latency_ms"]["max"]
        assert store["consistency"]["held"] == 150 and store["consistency"]["missing"] == 0
        assert "***" in store["endpoint"] or "@" not in store["endpoint"]
    assert summary["client"]["libraries"]["asyncpg"]
    # Teardown dropped this run's namespace everywhere.
    namespace = f"sbx_{summary['run_id']}"
    for name in StoreRegistry.built_in().names:
        async with Raw(name, live) as raw:
            assert not await raw.namespace_exists(namespace), f"{name} kept {namespace}"


async def test_keep_leaves_the_data_for_inspection(tmp_path: Path, live: Settings) -> None:
    proc = sandbox("run", "orders", "--orders", "20", "--stores", "postgres,redis", "--keep",
                   env={"SANDBOX_RESULTS_DIR": str(tmp_path)})
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr
    namespace = "sbx_" + json.loads(next(tmp_path.glob("*/summary.json")).read_text())["run_id"]
    for name in ("postgres", "redis"):
        async with Raw(name, live) as raw:
            try:
                assert await raw.namespace_exists(namespace)
            finally:
                await raw.drop_foreign(namespace)


def test_scenarios_lists_orders_with_one_line() -> None:
    proc = sandbox("scenarios")
    assert proc.returncode == 0
    assert any(line.startswith("orders") and len(line) > 20 for line in proc.stdout.splitlines())
