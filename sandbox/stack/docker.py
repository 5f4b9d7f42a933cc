"""The docker backend: the official images from compose/docker-compose.yml."""

from __future__ import annotations

import json
import shutil
import subprocess

from sandbox.config import Workspace
from sandbox.errors import UsageError

PROJECT = "polyglot-sandbox"
SERVICES = {"postgres": "postgres", "mongo": "mongo", "redis": "redis", "elastic": "elasticsearch",
            "influx": "influxdb"}


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
    def __init__(self, ws: Workspace):
        self.ws = ws
        self.compose_file = ws.project_dir / "compose" / "docker-compose.yml"
        self.env_file = ws.env_file

    def _compose(self, *args: str) -> None:
        argv = ["docker", "compose", "-p", PROJECT, "--env-file", str(self.env_file),
                "-f", str(self.compose_file), *args]
        proc = subprocess.run(argv, capture_output=True, text=True)
        if proc.returncode != 0:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
            raise UsageError(f"docker compose {args[0]} failed: {tail[0]}")

    def up(self, stores: list[str]) -> list[str]:
        services = [SERVICES[s] for s in stores]
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
        return list(SERVICES)

    def service_action(self, store: str, action: str) -> None:
        """kill | pause | unpause | restart | stop | start one service (fault injection)."""
        self._compose(action, SERVICES[store])
