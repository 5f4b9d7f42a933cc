"""Shared fixtures. Integration tests use the stack `make test` brings up (or SANDBOX_* URLs)."""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator

import pytest

from sandbox.config import Settings, Workspace
from sandbox.stack import recorded_backend
from sandbox.stack.status import gather_status
from sandbox.stores import make_store
from sandbox.stores.base import Store
from sandbox.stores.registry import StoreRegistry

BUILT_IN = StoreRegistry.built_in()

INSTALL_HINT = ("start the stores with `make up` (it installs and starts PostgreSQL, Redis, InfluxDB and the "
                "MongoDB/Elasticsearch stand-ins), or point SANDBOX_<STORE>_URL at running servers")


@pytest.fixture(scope="session")
def workspace() -> Workspace:
    return Workspace.from_env(dict(os.environ))


@pytest.fixture(scope="session")
def settings(workspace: Workspace) -> Settings:
    return BUILT_IN.settings(recorded_backend(workspace.state_dir) or "native", workspace)


@pytest.fixture(scope="session")
async def live(settings: Settings) -> Settings:
    """The configured stores, all reachable; otherwise the test fails saying what to start."""
    down = [s for s in await gather_status(settings, list(BUILT_IN.names)) if not s.reachable]
    if down:
        pytest.fail("; ".join(f"{s.store} not reachable at {s.url} ({s.server})" for s in down) + ": " + INSTALL_HINT)
    return settings


def new_namespace() -> str:
    return f"sbx_test_{secrets.token_hex(4)}"


@pytest.fixture
async def open_store(live: Settings) -> AsyncIterator:
    """Factory: a connected adapter in a fresh namespace; torn down and closed after the test."""
    opened: list[Store] = []

    async def factory(name: str, namespace: str | None = None) -> Store:
        # "redis[valkey-glide]": the redis store through its other client library (RedisOptions.redis_client)
        base, _, client = name.partition("[")
        knobs = {"redis_client": client.rstrip("]")} if client else {}
        store = make_store(live, base, namespace or new_namespace(), **knobs)
        await store.connect()
        opened.append(store)
        return store

    yield factory
    for store in opened:
        try:
            await store.teardown()
        finally:
            await store.close()
