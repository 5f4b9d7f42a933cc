"""Migrations and server statistics on the real stores: the `migration` scenario on PostgreSQL under load,
`sandbox migrate` on a namespace, the cross-check of server counts with the client's, and the pure logic."""

from __future__ import annotations

import csv
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from sandbox.config import Settings
from sandbox.errors import UsageError
from sandbox.measure.ddl_impact import Op, p99, time_above
from sandbox.stores import make_model_store
from sandbox.stores import migrations as mig
from sandbox.workload import model_file
from sandbox.workload.dataset import Dataset, Sizes
from tests.helpers import SANDBOX, new_namespace

PROJECT = Path(__file__).resolve().parent.parent
ORDERS = model_file.load(PROJECT / "models" / "orders.toml")


@pytest.fixture
async def open_model(live: Settings) -> Any:
    """Factory: a connected model store of the orders model in a fresh namespace; dropped after the test."""
    opened: list[Any] = []

    async def factory(name: str) -> Any:
        store = make_model_store(live, name, new_namespace(), ORDERS)
        await store.connect()
        opened.append(store)
        return store

    yield factory
    for store in opened:
        try:
            await store.teardown()
        finally:
            await store.close()


def sandbox(*args: str, results: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SANDBOX_PROJECT_DIR": str(PROJECT), "SANDBOX_RESULTS_DIR": str(results)}
    return subprocess.run([*SANDBOX, *args], capture_output=True, text=True, env=env, timeout=180)


def run_summary(done: subprocess.CompletedProcess[str], results: Path) -> dict[str, Any]:
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr
    [run_dir] = list(results.iterdir())
    return json.loads((run_dir / "summary.json").read_text())


def steps(summary: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(s["name"].split("_")[0], s["direction"]): s for s in summary["migration"]["steps"]}


def test_migrations_under_load_show_blocking_rewrites_and_a_restored_schema(live: Any, tmp_path: Path) -> None:
    done = sandbox("run", "migration", "--stores", "postgres", "--seed", "3", "-p", "rate=80", "-p", "fill_rows=80000",
                   "-p", "baseline_s=2", "-p", "settle_s=0.8", "-p", "sample_ms=10", results=tmp_path)
    summary = run_summary(done, tmp_path)
    run = summary["migration"]
    by = steps(summary)
    assert all(s["ok"] for s in run["steps"]) and len(run["steps"]) == 12
    # The constant default is a catalog change; the volatile one rewrites the table (new relfilenode).
    assert by[("0001", "up")]["rewritten"] is False
    assert by[("0002", "up")]["rewritten"] is True
    # Plain CREATE INDEX holds a SHARE lock: writers wait on it. CONCURRENTLY lets them through.
    # On an idle machine the build may end between two samples: then the writes' latency shows the wait.
    plain = by[("0003", "up")]
    assert plain["blocked_sessions_max"] > 0 or plain["max_ms"] > 2 * run["baseline"]["p99_ms"], plain
    assert by[("0004", "up")]["blocked_sessions_max"] == 0, by[("0004", "up")]
    # The rewrite blocks writes for as long as it runs: their worst latency includes the whole wait.
    assert by[("0002", "up")]["max_ms"] >= 0.5 * by[("0002", "up")]["duration_s"] * 1000
    assert run["schema_restored"] is True and run["schema_diff"] == []
    rows = list(csv.DictReader((tmp_path / next(tmp_path.iterdir()).name / run["timeline_csv"]).open()))
    assert {r["migration"] for r in rows} >= {"0002_add_column_volatile_default up", "0003_index_plain up"}
    assert sum(int(r["ops"]) for r in rows) >= run["baseline"]["ops"]
    page = (tmp_path / next(tmp_path.iterdir()).name / "report.html").read_text()
    assert "migrations under 80 writes/s" in page and "writes counted by the server" in page


@pytest.mark.parametrize("lock_timeout_ms, retries", [(100, 60), (0, 0)])
def test_lock_timeout_with_retries_keeps_the_workload_going_behind_a_long_reader(
        live: Any, tmp_path: Path, lock_timeout_ms: int, retries: int) -> None:
    reader_s = 2.5
    done = sandbox("run", "migration", "--stores", "postgres", "--seed", "4", "-p", "rate=60", "-p", "fill_rows=0",
                   "-p", "baseline_s=1", "-p", "settle_s=0.5", "-p", f"reader_s={reader_s}",
                   "-p", f"lock_timeout_ms={lock_timeout_ms}", "-p", f"retries={retries}",
                   "-p", 'only=["0001_add_column_constant_default"]', results=tmp_path)
    summary = run_summary(done, tmp_path)
    up = steps(summary)[("0001", "up")]
    assert up["ok"] and summary["migration"]["schema_restored"] is True
    if lock_timeout_ms:  # the DDL gives up its place in the queue every 100 ms: writers get through
        assert up["attempts"] > 1, up
        assert up["max_ms"] < 0.5 * reader_s * 1000, up
        assert up["duration_s"] >= 0.8 * reader_s
    else:  # the DDL waits for the reader, and every write queues behind the DDL
        assert up["attempts"] == 1
        assert up["max_ms"] >= 0.6 * reader_s * 1000, up
        assert up["blocked_sessions_max"] > 0 and up["migration_lock_wait_s"] >= 0.5 * reader_s


def test_server_statistics_agree_with_the_client(live: Any, tmp_path: Path) -> None:
    done = sandbox("run", "orders", "--stores", "postgres,redis,influx", "--orders", "250", "--seed", "8",
                   results=tmp_path)
    summary = run_summary(done, tmp_path)
    stats = summary["server_stats"]
    assert [p["phase"] for p in stats["phases"]] == summary["phases"]
    for store in ("postgres", "redis", "influx"):
        check = stats["cross_check"][store]
        # Counted over the write phase: the reference data and the namespace marker `prepare` writes
        # (stores/<name>/markers.py) are not among them.
        assert check["client_orders_written"] == 250 and check["difference"] == 0, check
    pg = stats["run"]["postgres"]
    # pg_stat_database trails (each backend flushes its counters up to ~10 s late): present, not exact.
    assert pg["headline"]["cache_hit_ratio"] is not None and pg["counters"]["database.xact_commit"] > 0
    write = next(p for p in stats["phases"] if p["phase"] == "write")["stores"]["postgres"]
    assert write["counters"]["statements.orders_written"] == 250
    assert any("INSERT INTO" in s["query"] for s in write["top_statements"]), write["top_statements"]
    assert "server statistics" in done.stdout and "cross-check" in done.stdout


async def test_migrate_command_up_down_status_and_a_failure_that_keeps_the_version(
        open_model: Any, tmp_path: Path) -> None:
    store = await open_model("postgres")
    await store.prepare(Dataset(ORDERS, 1, Sizes(10)))
    kit = mig.kit(store)
    original = await kit.schema()
    ns = store.namespace
    assert "version 0 of 6" in sandbox("migrate", "status", "--namespace", ns, results=tmp_path).stdout
    assert "version 2 of 6" in sandbox("migrate", "up", "--namespace", ns, "--to", "2", results=tmp_path).stdout
    # Someone created the index 0003 builds: it fails, the recorded version stays 2.
    await store.pool.execute(f'CREATE INDEX orders_created_at_plain ON "{ns}".orders (status)')
    failed = sandbox("migrate", "up", "--namespace", ns, results=tmp_path)
    assert failed.returncode == 3 and "the recorded version stays 2" in failed.stderr, failed.stderr
    assert len(failed.stderr.strip().splitlines()) == 1
    assert await kit.current() == 2
    await store.pool.execute(f'DROP INDEX "{ns}".orders_created_at_plain')
    assert "version 6 of 6" in sandbox("migrate", "up", "--namespace", ns, results=tmp_path).stdout
    assert await kit.schema() != original
    assert "version 0 of 6" in sandbox("migrate", "down", "--namespace", ns, results=tmp_path).stdout
    assert await kit.schema() == original
    await kit.close()
    for args in (("migrate", "up", "--namespace", "public"), ("migrate", "sideways", "--namespace", ns),
                 ("migrate", "up", "--namespace", ns, "--to", "9"),
                 ("migrate", "status", "--namespace", ns, "--model", "telemetry")):
        bad = sandbox(*args, results=tmp_path)
        assert bad.returncode == 2 and bad.stderr.startswith("error:"), (args, bad.stderr)


def test_stats_command_shows_live_values_and_what_a_stand_in_cannot_answer(live: Any, tmp_path: Path) -> None:
    done = sandbox("stats", "--stores", "postgres,elastic", results=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "pg_stat_statements" in done.stdout and "_nodes/stats" in done.stdout


def test_plan_runs_towards_the_target_and_refuses_the_wrong_direction() -> None:
    ms = [mig.Migration(i, f"m{i}", mig) for i in (1, 2, 3)]  # type: ignore[arg-type]
    assert [m.version for m in mig.plan(ms, 0, "up", None)] == [1, 2, 3]
    assert [m.version for m in mig.plan(ms, 1, "up", 2)] == [2]
    assert [m.version for m in mig.plan(ms, 3, "down", 1)] == [3, 2]
    assert mig.plan(ms, 2, "up", 2) == []
    for current, direction, to in ((2, "up", 1), (1, "down", 2), (0, "up", 4), (0, "down", -1)):
        with pytest.raises(UsageError):
            mig.plan(ms, current, direction, to)  # type: ignore[arg-type]


def test_every_store_with_migrations_numbers_them_without_gaps() -> None:
    from sandbox.stores.registry import StoreRegistry
    found = {name: mig.load(kind.model_store) for name, kind in StoreRegistry.built_in().kinds.items()
             if kind.model_store is not None}
    assert len(found["postgres"]) == 6
    for name, ms in found.items():
        assert [m.version for m in ms] == list(range(1, len(ms) + 1)), name
        assert all(m.summary for m in ms)


def test_time_above_counts_bins_whose_p99_exceeds_the_threshold() -> None:
    ms = 1_000_000
    ops = [Op(i * 10 * ms, 5 * ms, "ok") for i in range(100)]  # 1 s of 5 ms writes
    assert p99([o.latency_ns for o in ops]) == 5 * ms
    assert time_above(ops, 0, 1000 * ms, 10) == 0
    slow = [Op(o.intended_ns, 50 * ms if o.intended_ns < 500 * ms else o.latency_ns, "ok") for o in ops]
    assert time_above(slow, 0, 1000 * ms, 10) == 0.5
    failed = [Op(o.intended_ns, o.latency_ns, "fail" if o.intended_ns >= 750 * ms else "ok") for o in ops]
    assert time_above(failed, 0, 1000 * ms, 10) == 0.25


@pytest.mark.parametrize("name", ["mongo", "redis", "elastic", "influx"])
async def test_other_stores_migrate_up_and_back_down(open_model: Any, name: str) -> None:
    store = await open_model(name)
    data = Dataset(ORDERS, 2, Sizes(20))
    await store.prepare(data)
    for order in data.roots():
        await store.write(order)
    kit = mig.kit(store)
    original = await kit.schema()
    applied = await mig.migrate(store, "up")
    assert [m.version for m in applied] == list(range(1, len(applied) + 1)) and len(applied) >= 1
    kit = mig.kit(store)
    assert await kit.current() == len(applied)
    assert await kit.schema() != original
    if name == "redis":  # dual-read finds copied orders and orders written in the old format since
        dual = applied[0].module.read_dual
        late = Dataset(ORDERS, 3, Sizes(1)).root(0)
        await store.write(late)
        for order in [*data.roots(), late]:
            assert (await dual(store, order["id"]))["order_number"] == order["order_number"]
    await mig.migrate(store, "down")
    kit = mig.kit(store)
    assert await kit.current() == 0
    after = await kit.schema()
    if name == "elastic":  # a mapped field cannot be removed: the rollback leaves exactly that behind
        assert [f for f in after["fields"] if f not in original["fields"]] == [["channel", "{'type': 'keyword'}"]]
    else:
        assert after == original
    await kit.close()
