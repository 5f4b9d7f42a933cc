"""The built-in store kinds are complete and consistent with compose/, and each gets only its own options."""

from __future__ import annotations

from pathlib import Path

import pytest
from dotenv import dotenv_values

from sandbox.config import Workspace
from sandbox.stores.kind import Durability
from sandbox.stores.registry import StoreRegistry

ROOT = Path(__file__).resolve().parents[1]
KINDS = StoreRegistry.built_in()


@pytest.mark.parametrize("name", KINDS.names)
def test_every_store_with_a_server_says_how_to_run_it(name: str) -> None:
    kind = KINDS.kind(name)
    assert kind.port and kind.compose_service and kind.native and kind.native.install_hint
    assert kind.client_libraries, f"{name}: name its client library for the results"
    assert kind.durability.describe(Durability().values(kind)), f"{name}: describe its durability for reports"
    example = dotenv_values(ROOT / "compose" / ".env.example")
    missing = [key for key in (*kind.secrets, *(k for k, _ in kind.env_values)) if key not in example]
    assert not missing, f"{name}: {missing} missing from compose/.env.example"


def test_each_kind_keeps_only_its_own_options() -> None:
    from sandbox.stores import make_model_store
    from tests.helpers import model

    settings = KINDS.settings("native", Workspace.from_env({}))
    chosen = {"elastic.refresh": "wait_for", "redis.client": "valkey-glide"}
    elastic = make_model_store(settings, "elastic", "sbx_x", model(), 4, chosen)
    redis = make_model_store(settings, "redis", "sbx_x", model(), 4, chosen)
    assert elastic.made_with == {"connections": 4, "es_refresh": "wait_for"}
    assert redis.made_with == {"connections": 4, "redis_client": "valkey-glide"}
    assert elastic.refresh == "wait_for" and redis.client_library == "valkey-glide"


def test_default_set_leaves_out_the_harness_store() -> None:
    assert "noop" in KINDS.kinds and "noop" not in KINDS.names
    assert KINDS.parse("noop") == ["noop"]
