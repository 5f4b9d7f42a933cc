"""Helpers for the strategy tests: the shared stack's settings, and a private native stack to kill."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from sandbox.config import Settings, Workspace
from sandbox.errors import SandboxError
from sandbox.measure.timing import TimedStore
from sandbox.scenario.strategy_steps import open_stores
from sandbox.stack.native import NativeStack
from sandbox.stores.connect import close_all
from sandbox.stores.registry import StoreRegistry
from tests.throwaway import throwaway_stack

PRIVATE_OFFSET = 5000  # a test that kills servers runs its own stack this far above the configured ports


def shared_settings() -> Settings:
    ws = Workspace.from_env(dict(os.environ))
    return StoreRegistry.built_in().settings("native", ws)


async def connect(settings: Settings, names: list[str], namespace: str) -> dict[str, TimedStore]:
    """Connected adapters, or a failing test that says how to start the stores."""
    try:
        return await open_stores(settings, names, namespace, 20, 10.0)
    except SandboxError as exc:
        pytest.fail(f"{exc} (the strategy tests need the native stack: `make up`)")


async def drop(stores: dict[str, TimedStore]) -> None:
    await close_all([ts.store for ts in stores.values()], keep=False, notes=[])


@contextmanager
def private_stack(stores: list[str]) -> Iterator[tuple[NativeStack, Settings]]:
    """A native stack of its own (ports shifted, state in a fresh directory), always taken down."""
    with tempfile.TemporaryDirectory(prefix="sbx-strategies-") as tmp, \
            throwaway_stack(Path(tmp) / "state", PRIVATE_OFFSET, stores) as t:
        yield t.stack, t.settings
