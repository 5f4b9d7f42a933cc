"""Bringing the stores up and down: Docker Compose where an engine answers, local processes elsewhere."""

from __future__ import annotations

import json
from pathlib import Path

from sandbox.config import Backend, Workspace
from sandbox.errors import UsageError
from sandbox.stack.base import Stack
from sandbox.stack.docker import DockerStack, engine_available
from sandbox.stack.native import NativeStack
from sandbox.stores.registry import StoreRegistry


def resolve_backend(choice: str, state_dir: Path) -> Backend:
    """auto = whatever is already up in this state dir, else docker when an engine answers, else native."""
    if choice not in ("auto", "docker", "native"):
        raise UsageError(f"unknown backend {choice!r}: use auto, docker or native")
    if choice == "docker":
        if not engine_available():
            raise UsageError("--backend docker asked for, but no Docker engine answers (`docker info` fails): "
                             "start Docker, or use --backend native")
        return "docker"
    if choice == "native":
        return "native"
    recorded = recorded_backend(state_dir)
    if recorded is not None:
        return recorded
    return "docker" if engine_available() else "native"


def recorded_backend(state_dir: Path) -> Backend | None:
    path = state_dir / "stack.json"
    if not path.exists():
        return None
    backend = json.loads(path.read_text()).get("backend")
    return backend if backend in ("docker", "native") else None


def open_stack(backend: Backend, ws: Workspace, secrets: dict[str, str], registry: StoreRegistry) -> Stack:
    if backend == "docker":
        return DockerStack(ws, registry)
    return NativeStack(ws, secrets, registry)
