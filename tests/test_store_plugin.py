"""A store kind from outside the package (tests/plugin_store.py), named only in configuration, is picked
up by `sandbox status`, `sandbox run`, config validation, summary.json, the terminal report and `sandbox gc`
(its own namespace markers, or a clear word that it has none)."""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sandbox.config import Settings, Workspace
from sandbox.errors import UsageError
from sandbox.stores import make_model_store
from sandbox.stores.markers import MARKER, Marker, no_markers
from sandbox.stores.registry import StoreRegistry
from tests.helpers import assert_usage_error, dataset, model, sandbox
from tests.plugin_store import FILES_KIND, KIND, MemoryStore

PLUGIN = {"SANDBOX_STORE_PLUGINS": "tests.plugin_store:KIND"}
FILES = {"SANDBOX_STORE_PLUGINS": "tests.plugin_store:FILES_KIND"}


def test_registry_loads_plugins_from_env_and_config_file(tmp_path: Path) -> None:
    assert "memory" not in StoreRegistry.load({}).kinds
    registry = StoreRegistry.load(PLUGIN)
    assert registry.kind("memory") is KIND and "memory" in registry.names
    cfg = tmp_path / "sandbox.toml"
    cfg.write_text('store_plugins = ["tests.plugin_store:KIND"]\n')
    assert StoreRegistry.load({}, cfg).kind("memory").model_store is MemoryStore
    ws = Workspace(tmp_path, tmp_path / ".sandbox", tmp_path / "results")
    assert registry.settings("native", ws, environ={}).memory_url == "memory://"


@pytest.mark.parametrize(("ref", "words"), [
    ("tests.plugin_store", "expected module:attribute"),
    ("tests.no_such_module:KIND", "cannot import it"),
    ("tests.plugin_store:MemoryStore", "expected a sandbox.stores.kind.StoreKind"),
    ("sandbox.stores.redis:KIND", "a store named 'redis' exists already"),
])
def test_a_bad_plugin_is_one_clear_error(ref: str, words: str) -> None:
    with pytest.raises(UsageError, match=words):
        StoreRegistry.load({"SANDBOX_STORE_PLUGINS": ref})


def test_an_unknown_store_name_is_rejected_by_the_registry() -> None:
    with pytest.raises(UsageError, match="unknown store memory"):
        StoreRegistry.built_in().kind("memory")


def test_plugin_url_is_validated_like_the_built_in_ones(tmp_path: Path) -> None:
    proc = sandbox("status", env={**PLUGIN, "SANDBOX_MEMORY_URL": "ftp://somewhere"})
    assert_usage_error(proc, "SANDBOX_MEMORY_URL: expected a memory:// URL")


def test_status_lists_the_plugin_store(live: Settings) -> None:
    proc = sandbox("status", env=PLUGIN)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    row = next(line for line in proc.stdout.splitlines() if "memory" in line)
    assert "in-process dict" in row and "yes" in row


def test_run_writes_reads_and_compares_the_plugin_store(tmp_path: Path) -> None:
    proc = sandbox("run", "orders", "--stores", "memory", "--orders", "60", "--seed", "5",
                   env={**PLUGIN, "SANDBOX_RESULTS_DIR": str(tmp_path)})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
    assert "memory" in proc.stdout and "in-process dict" in proc.stdout  # the terminal report
    [summary_path] = tmp_path.glob("*-orders/summary.json")
    summary = json.loads(summary_path.read_text())
    assert list(summary["params"]["stores"]) == ["memory"]
    memory = summary["stores"]["memory"]
    assert memory["server"]["product"] == "in-process dict"
    assert memory["consistency"]["consistent"] is True
    assert memory["operations"]["write"]["ok"] == 60
    assert summary["consistent"] is True
    assert "pytest" in summary["client"]["libraries"]  # the kind's own client libraries
    # memory keeps nothing after the run, so it declares no markers: prepare says so, once.
    assert summary["notes"].count(no_markers("memory")) == 1, summary["notes"]


def test_a_plugin_option_is_listed_set_and_checked_by_its_kind(tmp_path: Path) -> None:
    listed = sandbox("options", env=PLUGIN)
    assert listed.returncode == 0 and "memory.lag_ms" in listed.stdout and "a whole number >= 0" in listed.stdout
    assert "redis.client" in listed.stdout and "elastic.refresh" in listed.stdout  # the built-in kinds' too
    results = {"SANDBOX_RESULTS_DIR": str(tmp_path)}
    slow = sandbox("run", "orders", "--stores", "memory", "--orders", "20", "--concurrency", "1",
                   "-o", "memory.lag_ms=20", env={**PLUGIN, **results})
    assert slow.returncode == 0, slow.stdout[-2000:] + slow.stderr
    summary = json.loads(next(tmp_path.glob("*-orders/summary.json")).read_text())
    assert summary["params"]["options"] == {"memory.lag_ms": 20}
    assert summary["stores"]["memory"]["operations"]["write"]["latency_ms"]["p50"] >= 20  # the option took
    bad = sandbox("run", "orders", "--stores", "memory", "-o", "memory.lag_ms=-5", env={**PLUGIN, **results})
    assert_usage_error(bad, "-o memory.lag_ms=-5: expected a whole number >= 0")


def test_gc_says_it_cannot_find_leftovers_of_a_kind_without_markers() -> None:
    assert KIND.markers is None
    proc = sandbox("gc", "--stores", "memory", env=PLUGIN)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "memory    not checked: cannot find leftovers of memory: no markers" in proc.stdout, proc.stdout


async def _plant_marked(settings: Settings, namespace: str) -> None:
    """A files namespace as a killed run leaves it: created by prepare, marked two hours ago on another host."""
    adapter = make_model_store(settings, "files", namespace, model())
    await adapter.connect()
    await adapter.prepare(dataset(1, seed=1))
    assert FILES_KIND.markers is not None
    await FILES_KIND.markers.mark(adapter, Marker(namespace, namespace.removeprefix("sbx_"),
                                                  datetime.now(UTC) - timedelta(hours=2), "a-host-that-died", 4242))
    await adapter.close()  # no teardown: the run "was killed"


async def test_gc_finds_and_drops_a_marked_plugin_namespace_and_leaves_an_unmarked_one(tmp_path: Path) -> None:
    env = {**FILES, "SANDBOX_FILES_URL": f"file://{tmp_path}"}
    registry = StoreRegistry.load(FILES)
    settings = registry.settings("native", Workspace(tmp_path, tmp_path / ".sandbox", tmp_path / "results"),
                                 environ=env)
    tag = secrets.token_hex(3)
    marked, unmarked = f"sbx_20200101t000000_{tag}", f"sbx_20200101t000001_{tag}"  # the same name pattern
    await _plant_marked(settings, marked)
    (tmp_path / unmarked).mkdir()
    (tmp_path / unmarked / "keepme").write_text("not the sandbox's")

    dry = sandbox("gc", "--stores", "files", "--older-than", "1h", env=env)
    assert dry.returncode == 0, dry.stdout + dry.stderr
    [row] = [line for line in dry.stdout.splitlines() if marked in line]
    assert "files" in row and "a-host-that-died" in row and "would drop" in row, dry.stdout
    assert f"no marker, left alone: {unmarked}" in dry.stdout
    assert (tmp_path / marked / f"{MARKER}.json").exists(), "a dry run dropped it"

    done = sandbox("gc", "--stores", "files", "--older-than", "1h", "--yes", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    [row] = [line for line in done.stdout.splitlines() if marked in line]
    assert row.endswith(": dropped"), done.stdout
    assert not (tmp_path / marked).exists()
    assert (tmp_path / unmarked / "keepme").read_text() == "not the sandbox's", "gc touched the unmarked folder"


def test_a_run_marks_the_plugin_namespace_it_keeps(tmp_path: Path) -> None:
    """The marker comes from the kind's own `markers`, written by the run's prepare, with no other edit."""
    env = {**FILES, "SANDBOX_FILES_URL": f"file://{tmp_path / 'data'}", "SANDBOX_RESULTS_DIR": str(tmp_path)}
    proc = sandbox("run", "orders", "--stores", "files", "--orders", "20", "--keep", env=env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
    [summary_path] = tmp_path.glob("*-orders/summary.json")
    summary = json.loads(summary_path.read_text())
    assert summary["stores"]["files"]["operations"]["write"]["ok"] == 20
    assert not any("no markers" in note for note in summary["notes"]), summary["notes"]
    [kept] = (tmp_path / "data").glob("sbx_*")
    assert json.loads((kept / f"{MARKER}.json").read_text())["run_id"] == kept.name.removeprefix("sbx_")
    listed = sandbox("gc", "--stores", "files", "--older-than", "0s", env=env)
    assert f"files     {kept.name}" in listed.stdout and "would drop" in listed.stdout, listed.stdout
