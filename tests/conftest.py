"""Shared fixtures, and tests scoped by store.

Integration tests use the stack `make test` brings up (or SANDBOX_* URLs). `make test STORES=postgres,redis`
(SANDBOX_TEST_STORES) starts and tests only those stores: a test that needs another is deselected, and the
summary says which and why. What a test needs: its `stores(...)` marker (on the test or its module), else
the store it is parametrized with (`name` or `store`), else every store of the default set when it uses the
shared stack (the `live` fixture); a test of none of these needs no server of the shared stack.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator

import pytest

from sandbox.config import Settings, Workspace
from sandbox.stack import recorded_backend
from sandbox.stack.status import gather_status
from tests.helpers import BUILT_IN, SecureStack, new_namespace, secure_stack

INSTALL_HINT = ("start the stores with `make up` (it installs and starts PostgreSQL, Redis, InfluxDB and the "
                "MongoDB/Elasticsearch stand-ins), or point SANDBOX_<STORE>_URL at running servers")
SHARED_STACK = ("live", "open_model_store")  # fixtures that use the shared stack's servers


def selected_stores() -> tuple[str, ...]:
    """The stores this test session may use: SANDBOX_TEST_STORES, or all `make up` starts (stores and brokers)."""
    given = os.environ.get("SANDBOX_TEST_STORES", "").strip()
    return tuple(BUILT_IN.parse(given)) if given else BUILT_IN.started


def needed_stores(item: pytest.Item) -> set[str]:
    marks = [m for m in item.iter_markers("stores")]
    if marks:
        return {s for m in marks for s in m.args}
    params = getattr(item, "callspec", None)
    for key in ("name", "store"):
        if params is not None and isinstance(params.params.get(key), str):
            name = params.params[key].partition("[")[0]  # "redis[valkey-glide]": the redis store
            if name in BUILT_IN.kinds:
                return {name}
    if set(getattr(item, "fixturenames", ())) & set(SHARED_STACK):
        return set(BUILT_IN.names)
    return set()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "stores(*names): the shared stack's stores this test needs")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    chosen = set(selected_stores())
    kept, dropped = [], []
    for item in items:
        missing = sorted(needed_stores(item) - chosen)
        if missing:
            dropped.append((item, missing))
        else:
            kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=[item for item, _ in dropped])
        items[:] = kept
        config.stash[DESELECTED] = [(item.nodeid, missing) for item, missing in dropped]


DESELECTED = pytest.StashKey[list[tuple[str, list[str]]]]()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    dropped = config.stash.get(DESELECTED, [])
    if not dropped:
        return
    by_reason: dict[str, int] = {}
    for _, missing in dropped:
        reason = ", ".join(missing)
        by_reason[reason] = by_reason.get(reason, 0) + 1
    terminalreporter.section(f"deselected: stores not in SANDBOX_TEST_STORES={','.join(selected_stores())}")
    for reason, n in sorted(by_reason.items()):
        terminalreporter.write_line(f"{n} test(s) need {reason}")


@pytest.fixture(scope="session")
def workspace() -> Workspace:
    return Workspace.from_env(dict(os.environ))


@pytest.fixture(scope="session")
def settings(workspace: Workspace) -> Settings:
    return BUILT_IN.settings(recorded_backend(workspace.state_dir) or "native", workspace)


@pytest.fixture(scope="session")
async def live(settings: Settings) -> Settings:
    """The selected stores, all reachable; otherwise the test fails saying what to start."""
    down = [s for s in await gather_status(settings, list(selected_stores())) if not s.reachable]
    if down:
        pytest.fail("; ".join(f"{s.store} not reachable at {s.url} ({s.server})" for s in down) + ": " + INSTALL_HINT)
    return settings


@pytest.fixture(scope="session")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecureStack]:
    """The security tests' own stack (TLS, distinctive secrets; tests/helpers.py secure_stack), shared by
    test_tls, test_secret_scan and test_hard_kill and stopped at the end of the session."""
    with secure_stack(tmp_path_factory.mktemp("secure")) as s:
        yield s


@pytest.fixture
async def open_model_store(live: Settings) -> AsyncIterator:
    """Factory: a connected model store ("kind" or "kind:design") in a fresh namespace, for a model (default
    orders); torn down and closed after the test."""
    from sandbox.stores import make_model_store
    from tests.helpers import model as shipped

    opened: list = []

    async def factory(name: str, namespace: str | None = None, model=None, options=None):  # type: ignore[no-untyped-def]
        store = make_model_store(live, name, namespace or new_namespace(), model or shipped(), 8, options or {})
        await store.connect()
        opened.append(store)
        return store

    yield factory
    for store in opened:
        try:
            await store.teardown()
        finally:
            await store.close()

