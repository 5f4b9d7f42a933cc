"""Offline checks of compose/docker-compose.yml: no Docker engine is needed (or available in CI).

The stack cannot be started here, so it is held to the compose-spec schema and to the
sandbox's own policy: pinned images, healthchecks, memory limits, named volumes,
loopback-only ports and no secrets in the file.
"""

from __future__ import annotations

import re
from itertools import pairwise
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from sandbox.stores.registry import StoreRegistry
from tests.helpers import COMPOSE, ENV_EXAMPLE, INTERPOLATION, REQUIRED_VAR, SECRET_NAME, check_jsonschema, load

# The Python side connects to the host ports its store kinds declare (sandbox/stores/<name>/__init__.py).
HOST_PORTS = {k.compose_service: k.port for k in StoreRegistry.built_in().kinds.values() if k.compose_service}


def test_compose_file_matches_compose_spec() -> None:
    result = check_jsonschema(COMPOSE)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("breakage", ["ports_not_a_list", "unknown_top_level_key"])
def test_schema_check_rejects_a_broken_file(tmp_path: Path, breakage: str) -> None:
    # Proves the validation above can fail at all (wrong schema name, empty file, ...).
    doc = load(COMPOSE)
    if breakage == "ports_not_a_list":
        doc["services"]["postgres"]["ports"] = 5
    else:
        doc["servicez"] = {}
    broken = tmp_path / "docker-compose.yml"
    with broken.open("w") as fh:
        YAML(typ="safe").dump(doc, fh)
    assert check_jsonschema(broken).returncode != 0


SERVICES = load(COMPOSE)["services"]


def test_the_five_stores_are_defined() -> None:
    assert set(SERVICES) == set(HOST_PORTS)


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_service_policy(name: str) -> None:
    svc = SERVICES[name]
    declared_volumes = set(load(COMPOSE).get("volumes") or {})

    tag = svc["image"].rpartition(":")[2]
    assert "/" not in tag and tag != "latest" and re.match(r"\d+\.\d+", tag), \
        f"{name}: pin an exact minor/patch tag, not {svc['image']!r}"
    assert svc.get("healthcheck", {}).get("test"), f"{name}: no healthcheck"
    limits = svc.get("deploy", {}).get("resources", {}).get("limits", {})
    assert svc.get("mem_limit") or limits.get("memory"), f"{name}: no memory limit"

    sources = [v.split(":", 1)[0] if isinstance(v, str) else v.get("source") for v in svc.get("volumes", [])]
    assert declared_volumes & set(sources), f"{name}: data must live on a named volume"

    ports = svc.get("ports", [])
    assert ports, f"{name}: no published port"
    for port in ports:
        host_ip = port.get("host_ip") if isinstance(port, dict) else port.split(":", 1)[0]
        assert host_ip == "127.0.0.1", f"{name}: {port!r} is not bound to loopback"
    assert any(f":-{HOST_PORTS[name]}}}:" in str(p) for p in ports), \
        f"{name}: default host port must be {HOST_PORTS[name]}"

    env = svc.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.partition("=")[::2] for item in env)
    secrets = {key: value for key, value in env.items() if SECRET_NAME.search(key)}
    command = svc.get("command") or []
    secrets |= {flag: value for flag, value in pairwise(command) if flag == "--requirepass"}
    for key, value in secrets.items():
        assert REQUIRED_VAR.match(str(value)), f"{name}: {key} must be a ${{VAR:?message}} interpolation"


def test_env_example_lists_every_variable() -> None:
    used = set(INTERPOLATION.findall(COMPOSE.read_text()))
    listed = set(re.findall(r"^([A-Za-z_][A-Za-z0-9_]*)=", ENV_EXAMPLE.read_text(), re.MULTILINE))
    assert used, "no ${VAR} found: did the interpolation syntax change?"
    assert used <= listed, f"missing from compose/.env.example: {sorted(used - listed)}"
