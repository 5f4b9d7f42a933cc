"""Helpers for the strategy tests: the shared stack's settings, and a private native stack to kill."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from sandbox.config import Settings, Workspace
from sandbox.errors import SandboxError
from sandbox.experiments.strategies.steps import open_stores
from sandbox.measure.timing import TimedStore
from sandbox.stack.native import NativeStack
from sandbox.stores.connect import close_all
from sandbox.stores.registry import StoreRegistry
from sandbox.strategies.catchup import Workers
from sandbox.strategies.event_sourcing import Projection
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


async def catch_up(projections: Iterable[Projection], timeout_s: float) -> bool:
    """Run the projections' background loops, as EventSourcing does, until all have caught up."""
    chosen = list(projections)
    workers = Workers()
    workers.start(p.loop.run(workers) for p in chosen)

    async def all_caught_up() -> bool:
        return all([await p.caught_up() for p in chosen])

    try:
        return await workers.settle(all_caught_up, timeout_s)
    finally:
        await workers.stop()


@contextmanager
def private_stack(stores: list[str]) -> Iterator[tuple[NativeStack, Settings]]:
    """A native stack of its own (ports shifted, state in a fresh directory), always taken down."""
    with tempfile.TemporaryDirectory(prefix="sbx-strategies-") as tmp, \
            throwaway_stack(Path(tmp) / "state", PRIVATE_OFFSET, stores) as t:
        yield t.stack, t.settings
