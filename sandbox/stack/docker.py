"""The docker backend: the official images from compose/docker-compose.yml, one service per store kind."""

from __future__ import annotations

import json
import shutil
import subprocess

from sandbox.config import Backend, Workspace
from sandbox.errors import SandboxError, UsageError
from sandbox.stack.pids import wait_port
from sandbox.stores.kind import Durability
from sandbox.stores.registry import StoreRegistry

PROJECT = "polyglot-sandbox"
READY_TIMEOUT_S = 60.0


def engine_available() -> bool:
    """True when a Docker engine answers (the docker client alone is not enough)."""
    if shutil.which("docker") is None:
        return False
    try:
        proc = subprocess.run(["docker", "info", "--format", "{{.ServerVersion}}"], capture_output=True,
                              timeout=10)
    except subprocess.TimeoutExpired:
        return False
    return proc.returncode == 0


class DockerStack:
    durability_configurable = False
    backend: Backend = "docker"

    def __init__(self, ws: Workspace, registry: StoreRegistry):
        self.ws = ws
        self.registry = registry
        self.compose_file = ws.project_dir / "compose" / "docker-compose.yml"
        self.env_file = ws.env_file
        self.services = {n: k.compose_service for n, k in registry.kinds.items() if k.compose_service}

    def _compose(self, *args: str) -> str:
        argv = ["docker", "compose", "-p", PROJECT, "--env-file", str(self.env_file),
                "-f", str(self.compose_file), *args]
        proc = subprocess.run(argv, capture_output=True, text=True)
        if proc.returncode != 0:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
            raise UsageError(f"docker compose {args[0]} failed: {tail[0]}")
        return proc.stdout

    def up(self, stores: list[str]) -> list[str]:
        stores = [s for s in stores if s in self.services]
        services = [self.services[s] for s in stores]
        try:
            self._compose("up", "-d", "--wait", *services)
        except UsageError:
            self._compose("stop", *services)  # a failed up leaves nothing half-started
            raise
        self.ws.state_dir.mkdir(parents=True, exist_ok=True)
        (self.ws.state_dir / "stack.json").write_text(json.dumps({"backend": "docker", "stores": stores}))
        return stores

    def down(self, purge: bool = False) -> list[str]:
        self._compose("down", *(["-v"] if purge else []))  # -v: drop the project's named volumes too
        (self.ws.state_dir / "stack.json").unlink(missing_ok=True)
        return list(self.services)

    def status(self) -> dict[str, int | None]:
        running = set(self._compose("ps", "--status", "running", "--services").split())
        return {s: None for s, service in self.services.items() if service in running}

    def is_running(self, store: str) -> bool:
        return store in self.status()

    @property
    def durability(self) -> Durability:
        return Durability()  # fixed in compose/docker-compose.yml

    def set_durability(self, durability: Durability) -> None:
        if durability != Durability():
            raise UsageError("the compose services' durability settings are fixed in compose/docker-compose.yml")

    def _action(self, store: str, action: str) -> str:
        """kill | pause | unpause | restart | stop | start one service (fault injection)."""
        self._compose(action, self.services[store])
        if action in ("restart", "start"):
            port = self.ws.shifted(self.registry.kind(store).port or 0)
            if not wait_port(port, True, READY_TIMEOUT_S):
                raise SandboxError(f"port {port} did not open within {READY_TIMEOUT_S:.0f} s after the restart")
        return f"docker compose {action}"

    def stop(self, store: str) -> str:
        return self._action(store, "stop")

    def kill(self, store: str) -> str:
        return self._action(store, "kill")

    def pause(self, store: str) -> str:
        return self._action(store, "pause")

    def resume(self, store: str) -> str:
        return self._action(store, "unpause")

    def restart(self, store: str) -> str:
        return self._action(store, "restart")

    def start(self, store: str) -> str:
        return self._action(store, "start")
