"""Offline checks of compose/toxiproxy.yml, the latency-injection overlay for a kernel without sch_netem: the
compose spec, the main file's policy (pinned image, healthcheck, memory limit, loopback ports), and one proxy
per store service whose upstream is that service's container port."""

from __future__ import annotations

import json
import re
from pathlib import Path

from ruamel.yaml import YAML

from tests.helpers import BUILT_IN, COMPOSE, ENV_EXAMPLE, INTERPOLATION, check_jsonschema, load

OVERLAY = Path(__file__).resolve().parents[1] / "compose" / "toxiproxy.yml"
DOC = load(OVERLAY)
PROXY = DOC["services"]["toxiproxy"]
PROXIES = json.loads(DOC["configs"]["toxiproxy-proxies"]["content"])


def test_overlay_matches_compose_spec() -> None:
    result = check_jsonschema(OVERLAY)
    assert result.returncode == 0, result.stdout + result.stderr


def test_schema_check_rejects_a_broken_overlay(tmp_path: Path) -> None:
    doc = load(OVERLAY)
    doc["services"]["toxiproxy"]["depends_on"] = 5
    broken = tmp_path / "toxiproxy.yml"
    with broken.open("w") as fh:
        YAML(typ="safe").dump(doc, fh)
    assert check_jsonschema(broken).returncode != 0


def test_one_proxy_per_store_service_to_its_container_port() -> None:
    services = load(COMPOSE)["services"]
    upstreams = {p["upstream"].split(":")[0]: int(p["upstream"].split(":")[1]) for p in PROXIES}
    # the stores' services: partitions cut a store from the client (the brokers' services have no proxy)
    stores = {k.compose_service for k in BUILT_IN.kinds.values() if k.in_default_set and k.compose_service}
    assert set(upstreams) == stores == set(PROXY["depends_on"]) and stores <= set(services)
    for name, port in upstreams.items():
        assert any(str(p).endswith(f":{port}") for p in services[name]["ports"]), f"{name}: not its port {port}"
    published = {int(str(p).rsplit(":", 1)[1]) for p in PROXY["ports"]}
    assert {int(p["listen"].rsplit(":", 1)[1]) for p in PROXIES} <= published


def test_proxy_service_policy() -> None:
    assert re.match(r"\d+\.\d+\.\d+$", PROXY["image"].rpartition(":")[2]), PROXY["image"]
    assert PROXY["healthcheck"]["test"] and PROXY["mem_limit"]
    for port in PROXY["ports"]:
        assert str(port).startswith("127.0.0.1:"), f"{port!r} is not bound to loopback"
    assert PROXY["configs"][0]["source"] in DOC["configs"]


def test_env_example_lists_its_variables() -> None:
    used = set(INTERPOLATION.findall(OVERLAY.read_text()))
    listed = set(re.findall(r"^([A-Za-z_][A-Za-z0-9_]*)=", ENV_EXAMPLE.read_text(), re.MULTILINE))
    assert used and used <= listed, sorted(used - listed)
