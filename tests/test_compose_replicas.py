"""Offline checks of compose/replicas.yml, the read-replica overlay: the compose spec, and the same policy
as the main file (pinned images, healthchecks, memory limits, named volumes, loopback ports, no secrets),
plus host ports that match the store kinds' replica ports."""

from __future__ import annotations

import re
from itertools import pairwise
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from sandbox.stores.registry import StoreRegistry
from tests.helpers import ENV_EXAMPLE, INTERPOLATION, REQUIRED_VAR, SECRET_NAME, check_jsonschema, load

ROOT = Path(__file__).resolve().parents[1]
OVERLAY = ROOT / "compose" / "replicas.yml"
DOC = load(OVERLAY)
NEW = {name: svc for name, svc in DOC["services"].items() if "image" in svc}  # not the primaries' overrides
REPLICA_PORTS = {k.replication.compose_service: k.replication.port
                 for k in StoreRegistry.built_in().kinds.values() if k.replication and k.replication.compose_service}


def test_overlay_matches_compose_spec() -> None:
    result = check_jsonschema(OVERLAY)
    assert result.returncode == 0, result.stdout + result.stderr


def test_schema_check_rejects_a_broken_overlay(tmp_path: Path) -> None:
    doc = load(OVERLAY)
    doc["services"]["redis-replica"]["ports"] = 5
    broken = tmp_path / "replicas.yml"
    with broken.open("w") as fh:
        YAML(typ="safe").dump(doc, fh)
    assert check_jsonschema(broken).returncode != 0


def test_overlay_adds_a_replica_of_each_replicated_store() -> None:
    assert {"postgres-replica", "redis-replica", "mongo-2", "mongo-3", "elasticsearch-2"} <= set(NEW)
    for service, port in REPLICA_PORTS.items():
        assert any(f":-{port}}}:" in str(p) for p in NEW[service]["ports"]), f"{service}: host port must be {port}"


@pytest.mark.parametrize("name", sorted(NEW))
def test_replica_service_policy(name: str) -> None:
    svc = NEW[name]
    tag = svc["image"].rpartition(":")[2]
    assert re.match(r"\d+\.\d+", tag), f"{name}: pin an exact tag, not {svc['image']!r}"
    assert svc.get("healthcheck", {}).get("test") and svc.get("mem_limit"), f"{name}: healthcheck and mem_limit"
    sources = {v.split(":", 1)[0] for v in svc.get("volumes", [])}
    assert set(DOC["volumes"]) & sources, f"{name}: data must live on a named volume"
    for port in svc["ports"]:
        assert port.startswith("127.0.0.1:"), f"{name}: {port!r} is not bound to loopback"
    env = svc.get("environment") or {}
    secrets = {k: v for k, v in env.items() if SECRET_NAME.search(k) or k == "PGPASSWORD"}
    secrets |= {flag: v for flag, v in pairwise(svc.get("command") or []) if flag in ("--requirepass", "--masterauth")}
    for key, value in secrets.items():
        assert REQUIRED_VAR.match(str(value)), f"{name}: {key} must be a ${{VAR:?message}} interpolation"


def test_env_example_lists_every_overlay_variable() -> None:
    used = set(INTERPOLATION.findall(OVERLAY.read_text()))
    listed = set(re.findall(r"^([A-Za-z_][A-Za-z0-9_]*)=", ENV_EXAMPLE.read_text(), re.MULTILINE))
    assert used and used <= listed, f"missing from compose/.env.example: {sorted(used - listed)}"
