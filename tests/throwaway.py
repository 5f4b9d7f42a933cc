"""A native stack of a test's own, on shifted ports and a temporary state dir.

Tests that stop or kill servers use one, so the shared stack other tests use is never touched.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sandbox.config import Settings, Workspace, ensure_env_file
from sandbox.stack.native import NativeStack
from sandbox.stores.kind import Durability
from sandbox.stores.registry import StoreRegistry


@dataclass
class Throwaway:
    ws: Workspace
    stack: NativeStack
    settings: Settings
    env: dict[str, str]  # for `sandbox` subprocesses that should use this stack

    def port(self, store: str) -> int:
        return self.ws.shifted(self.stack.registry.kind(store).port or 0)


@contextlib.contextmanager
def throwaway_stack(state_dir: Path, extra_offset: int, stores: list[str] | None = None,
                    durability: Durability | None = None) -> Iterator[Throwaway]:
    base = Workspace.from_env(dict(os.environ))
    ws = Workspace(base.project_dir, state_dir, state_dir / "results", base.port_offset + extra_offset)
    registry = StoreRegistry.built_in()
    stack = NativeStack(ws, ensure_env_file(ws.env_file, registry.kinds.values()), registry, durability)
    env = {"SANDBOX_STATE_DIR": str(state_dir), "SANDBOX_PORT_OFFSET": str(ws.port_offset),
           "SANDBOX_RESULTS_DIR": str(ws.results_dir)}
    try:
        if stores:
            stack.up(stores)
        yield Throwaway(ws, stack, registry.settings("native", ws), env)
    finally:
        stack.down(purge=True)
