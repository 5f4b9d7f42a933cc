"""A store kind from outside the package (tests/plugin_store.py), named only in configuration, is picked
up by `sandbox status`, `sandbox run`, config validation, summary.json and the terminal report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sandbox.config import Settings, Workspace
from sandbox.errors import UsageError
from sandbox.stores.registry import StoreRegistry
from tests.plugin_store import KIND, MemoryStore
from tests.test_cli import assert_usage_error, sandbox

PLUGIN = {"SANDBOX_STORE_PLUGINS": "tests.plugin_store:KIND"}


def test_registry_loads_plugins_from_env_and_config_file(tmp_path: Path) -> None:
    assert "memory" not in StoreRegistry.load({}).kinds
    registry = StoreRegistry.load(PLUGIN)
    assert registry.kind("memory") is KIND and "memory" in registry.names
    cfg = tmp_path / "sandbox.toml"
    cfg.write_text('store_plugins = ["tests.plugin_store:KIND"]\n')
    assert StoreRegistry.load({}, cfg).kind("memory").adapter is MemoryStore
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
