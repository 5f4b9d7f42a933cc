"""Offline checks of the Redis Cluster overlay (compose/redis-cluster.yml), as for the main compose file:
the compose-spec schema, and the sandbox's policy for a throwaway cluster on the host network."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from sandbox.experiments.sharding.reshard import CLUSTER_PORT
from tests.helpers import COMPOSE, ENV_EXAMPLE, INTERPOLATION, REQUIRED_VAR, check_jsonschema, load

OVERLAY = COMPOSE.parent / "redis-cluster.yml"
NODES = [f"redis-cluster-{i}" for i in range(1, 5)]


def test_overlay_matches_compose_spec() -> None:
    result = check_jsonschema(OVERLAY)
    assert result.returncode == 0, result.stdout + result.stderr


def test_schema_check_rejects_a_broken_overlay(tmp_path: Path) -> None:
    doc = load(OVERLAY)
    doc["services"]["redis-cluster-1"]["network_mode"] = ["host"]
    broken = tmp_path / "redis-cluster.yml"
    with broken.open("w") as fh:
        YAML(typ="safe").dump(doc, fh)
    assert check_jsonschema(broken).returncode != 0


@pytest.mark.parametrize("name", NODES)
def test_node_policy(name: str) -> None:
    svc = load(OVERLAY)["services"][name]
    # The same pinned server as the main file's Redis.
    assert svc["image"] == load(COMPOSE)["services"]["redis"]["image"]
    assert svc["healthcheck"]["test"] and svc["mem_limit"]
    command = [str(part) for part in svc["command"]]
    assert command[command.index("--bind") + 1] == "127.0.0.1", f"{name}: must bind loopback only"
    assert svc["network_mode"] == "host" and "ports" not in svc  # nodes announce the addresses clients use
    for flag in ("--requirepass", "--masterauth"):
        assert REQUIRED_VAR.match(command[command.index(flag) + 1]), f"{name}: {flag} must be ${{VAR:?message}}"
    # Default ports are the native backend's (CLUSTER_PORT + i).
    port = re.search(r":-(\d+)\}", command[command.index("--port") + 1])
    assert port and int(port.group(1)) == CLUSTER_PORT + NODES.index(name)


def test_create_joins_the_first_three_nodes_once_healthy() -> None:
    svc = load(OVERLAY)["services"]["redis-cluster-create"]
    assert set(svc["depends_on"]) == set(NODES[:3])
    assert all(dep["condition"] == "service_healthy" for dep in svc["depends_on"].values())
    assert svc["command"][:3] == ["redis-cli", "--cluster", "create"] and svc["command"][-1] == "--cluster-yes"


def test_env_example_lists_every_overlay_variable() -> None:
    used = set(INTERPOLATION.findall(OVERLAY.read_text()))
    listed = set(re.findall(r"^([A-Za-z_][A-Za-z0-9_]*)=", ENV_EXAMPLE.read_text(), re.MULTILINE))
    assert used <= listed, f"missing from compose/.env.example: {sorted(used - listed)}"
