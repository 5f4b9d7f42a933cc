"""Helpers for the strategy tests: the shared stack's settings, and a private native stack to kill."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from sandbox.config import Settings, Workspace, ensure_env_file, load_settings
from sandbox.errors import SandboxError
from sandbox.measure.timing import TimedStore
from sandbox.scenario.strategy_steps import close_stores, open_stores
from sandbox.stack.native import NativeStack
from sandbox.stores.base import StoreOptions

PRIVATE_OFFSET = 5000  # a test that kills servers runs its own stack this far above the configured ports


def shared_settings() -> Settings:
    ws = Workspace.from_env(dict(os.environ))
    return load_settings("native", ws)


async def connect(settings: Settings, names: list[str], namespace: str) -> dict[str, TimedStore]:
    """Connected adapters, or a failing test that says how to start the stores."""
    try:
        return await open_stores(settings, names, namespace, StoreOptions(connections=20), 10.0)
    except SandboxError as exc:
        pytest.fail(f"{exc} (the strategy tests need the native stack: `make up`)")


async def drop(stores: dict[str, TimedStore]) -> None:
    await close_stores(stores, keep=False, notes=[])


@contextmanager
def private_stack(stores: list[str]) -> Iterator[tuple[NativeStack, Settings]]:
    """A native stack of its own (ports shifted, state in a fresh directory), always taken down."""
    base = Workspace.from_env(dict(os.environ))
    # PostgreSQL runs as the postgres user when we are root: it must be able to enter the state dir.
    state = Path(tempfile.mkdtemp(prefix="sbx-strategies-"))
    state.chmod(0o755)
    ws = Workspace(base.project_dir, state, state / "results", base.port_offset + PRIVATE_OFFSET)
    stack = NativeStack(ws, ensure_env_file(ws.env_file))
    try:
        try:
            stack.up(stores)
        except SandboxError as exc:
            pytest.fail(f"could not start a private native stack: {exc}")
        yield stack, load_settings("native", ws)
    finally:
        stack.down()
        shutil.rmtree(state, ignore_errors=True)
