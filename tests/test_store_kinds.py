"""The built-in store kinds are complete and consistent with compose/, and each gets only its own options."""

from __future__ import annotations

from pathlib import Path

import pytest
from dotenv import dotenv_values

from sandbox.config import Endpoint
from sandbox.stores.elastic.adapter import ElasticOptions
from sandbox.stores.kind import Durability
from sandbox.stores.postgres.adapter import PostgresOptions
from sandbox.stores.redis.adapter import RedisOptions
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


def test_each_kind_keeps_only_its_own_knobs() -> None:
    knobs = {"es_refresh": "wait_for", "redis_ttl_s": 30, "mongo_write_concern": "w1"}
    elastic = KINDS.kind("elastic").options_for(4, **knobs)
    redis = KINDS.kind("redis").options_for(4, **knobs)
    postgres = KINDS.kind("postgres").options_for(4, **knobs)
    assert elastic == ElasticOptions(connections=4, es_refresh="wait_for")
    assert redis == RedisOptions(connections=4, redis_ttl_s=30)
    assert postgres == PostgresOptions(connections=4)
    store = KINDS.kind("mongo").make(Endpoint("mongo", "mongodb://127.0.0.1:1"), "sbx_x",
                                     KINDS.kind("mongo").options_for(2, **knobs))
    assert store.options.mongo_write_concern == "w1"  # type: ignore[attr-defined]


def test_default_set_leaves_out_the_harness_store() -> None:
    assert "noop" in KINDS.kinds and "noop" not in KINDS.names
    assert KINDS.parse("noop") == ["noop"]
