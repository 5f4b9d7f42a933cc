"""The docker backend: the official images from compose/docker-compose.yml, one service per store kind."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess

from dotenv import dotenv_values

from sandbox.config import Backend, Workspace
from sandbox.errors import SandboxError, UsageError
from sandbox.stack.base import listens_at
from sandbox.stack.netns import NetNamespace
from sandbox.stack.pids import wait_port
from sandbox.stack.small_disk import SmallDisk
from sandbox.stores.kind import Durability
from sandbox.stores.registry import StoreRegistry
from sandbox.stores.replication import replica_node, split_node

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


def inspect_pid_argv(container: str) -> list[str]:
    """The container's first process as the engine's host sees it (0 when it is not running)."""
    return ["docker", "inspect", "--format", "{{.State.Pid}}", container]


def parse_pid(output: str) -> int | None:
    """`docker inspect --format {{.State.Pid}}` output -> the PID, None for 0 (stopped) or anything else."""
    text = output.strip()
    return int(text) if text.isdigit() and int(text) > 0 else None


def engine_host_argv() -> list[str]:
    return ["docker", "info", "--format", "{{.Name}}"]


def engine_is_local(output: str, hostname: str) -> bool:
    """`docker info --format {{.Name}}` names the engine's host: only on this host are its PIDs ours to use
    (Docker Desktop answers "docker-desktop": its containers' PIDs live in a VM)."""
    return output.strip() == hostname


PUBLISHED_PORT = re.compile(r"\$\{(SANDBOX_\w+_PORT):-(\d+)\}")


class DockerStack:
    durability_configurable = False
    backend: Backend = "docker"

    def __init__(self, ws: Workspace, registry: StoreRegistry):
        self.ws = ws
        self.registry = registry
        self.compose_file = ws.project_dir / "compose" / "docker-compose.yml"
        self.replicas_file = ws.project_dir / "compose" / "replicas.yml"  # the overlay `up --replicas` adds
        self.env_file = ws.env_file
        self.services = {n: k.compose_service for n, k in registry.kinds.items() if k.compose_service}
        self.replica_services = {replica_node(n): k.replication.compose_service for n, k in registry.kinds.items()
                                 if k.replication is not None and k.replication.compose_service}

    def _with_replicas(self) -> bool:
        path = self.ws.state_dir / "stack.json"
        return path.exists() and bool(json.loads(path.read_text()).get("replicas"))

    def compose_argv(self, *args: str) -> list[str]:
        overlay = ["-f", str(self.replicas_file)] if self._with_replicas() else []
        return ["docker", "compose", "-p", PROJECT, "--env-file", str(self.env_file),
                "-f", str(self.compose_file), *overlay, *args]

    def published_ports(self) -> dict[str, str]:
        """The host ports compose/*.yml publish on (`${SANDBOX_<NODE>_PORT:-default}`), shifted by
        SANDBOX_PORT_OFFSET as on the native backend, where this stack and the stores' default URLs expect them."""
        text = "".join(path.read_text() for path in (self.compose_file, self.replicas_file) if path.exists())
        return {var: str(self.ws.shifted(int(default))) for var, default in PUBLISHED_PORT.findall(text)}

    def _compose(self, *args: str) -> str:
        # A variable the user exported wins over the shifted default (then their URLs must follow it).
        env = {**self.published_ports(), **os.environ}
        try:
            proc = subprocess.run(self.compose_argv(*args), capture_output=True, text=True, env=env)
        except FileNotFoundError:
            raise UsageError(f"docker compose {args[0]} failed: no docker client installed") from None
        if proc.returncode != 0:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
            raise UsageError(f"docker compose {args[0]} failed: {tail[0]}")
        return proc.stdout

    def up(self, stores: list[str], replicas: int = 0, tls: bool | None = None) -> list[str]:
        """The stores' services; with replicas, through compose/replicas.yml (one replica per store here)."""
        if tls:
            raise UsageError("--tls: the compose services run without TLS here; `sandbox up --backend native --tls` "
                             "makes a CA and certificates of its own (docs/security.md)")
        if replicas > 1:
            raise UsageError(f"--replicas {replicas}: compose/replicas.yml defines one replica per store; use 1")
        stores = [s for s in stores if s in self.services]
        nodes = stores + [n for s in stores if replicas and (n := replica_node(s)) in self.replica_services]
        services = [self.services.get(n) or self.replica_services[n] for n in nodes]
        self.ws.state_dir.mkdir(parents=True, exist_ok=True)
        record = self.ws.state_dir / "stack.json"
        replicated = bool(replicas) or self._with_replicas()
        record.write_text(json.dumps({"backend": "docker", "stores": stores, "replicas": replicated}))
        try:
            self._compose("up", "-d", "--wait", *services)
        except UsageError:
            self._compose("stop", *services)  # a failed up leaves nothing half-started
            raise
        return nodes

    def down(self, purge: bool = False) -> list[str]:
        self._compose("down", *(["-v"] if purge else []))  # -v: drop the project's named volumes too
        (self.ws.state_dir / "stack.json").unlink(missing_ok=True)
        return list(self.services)

    def status(self) -> dict[str, int | None]:
        running = set(self._compose("ps", "--status", "running", "--services").split())
        return {s: None for s, service in {**self.services, **self.replica_services}.items() if service in running}

    def discard(self, node: str) -> str:
        if node not in self.replica_services:
            raise UsageError(f"{node} is not a replica; only replicas are discarded")
        service = self.replica_services[node]
        self._compose("rm", "-s", "-f", service)
        # Its data volume too (named <service>-data in compose/replicas.yml), so `up` clones it afresh.
        subprocess.run(["docker", "volume", "rm", "-f", f"{PROJECT}_{service}-data"], capture_output=True)
        return f"docker compose rm -s -f {service} and its volume"

    def is_running(self, store: str) -> bool:
        return store in self.status()

    def container_args(self, store: str) -> list[str]:
        """`docker compose` arguments listing the id of this project's running container of the store."""
        return ["ps", "-q", "--status", "running", self.services.get(store) or self.replica_services[store]]

    def _container(self, store: str) -> str | None:
        """This compose project's running container of the store, None if there is none (or no engine answers)."""
        if store not in self.services and store not in self.replica_services:
            return None
        try:
            ids = self._compose(*self.container_args(store)).split()
        except UsageError:
            return None
        return ids[0] if ids else None

    def pid(self, store: str) -> int | None:
        container = self._container(store)
        if container is None:
            return None
        info = subprocess.run(engine_host_argv(), capture_output=True, text=True)
        if info.returncode != 0 or not engine_is_local(info.stdout, socket.gethostname()):
            return None
        proc = subprocess.run(inspect_pid_argv(container), capture_output=True, text=True)
        return parse_pid(proc.stdout) if proc.returncode == 0 else None

    def admin_url(self, store: str) -> str:
        """The compose services' one login (their superuser / requirepass), on the service's published port."""
        name, _ = split_node(store)
        kind = self.registry.kind(name)
        env = {k: v for k, v in dotenv_values(self.env_file).items() if v} if self.env_file.exists() else {}
        return (kind.admin_url or kind.default_url)(self.backend, env, self._port(store))

    def without_tls(self, stores: list[str]) -> list[str]:
        return [f"{s}: the compose service runs without TLS" for s in stores if s in self.services]

    def owns(self, store: str, url: str) -> bool:
        return listens_at(url, self._port(store)) and self._container(store) is not None

    def store_dir(self, store: str) -> None:
        return None  # in a Docker volume

    def small_disk(self, store: str, size: int) -> SmallDisk:
        raise UsageError(f"a small disk for {store} needs the native backend (a tmpfs in a private mount "
                         "namespace); on compose, give the service a size-limited tmpfs volume instead: "
                         "docs/faults.md, 'A full disk'")

    def release_small_disk(self, store: str) -> None:
        return None  # never given one

    def isolate(self, store: str) -> NetNamespace:
        raise UsageError(f"a network partition of {store} needs the native backend as root (a network namespace "
                         "and a veth pair); on compose, `docker network disconnect` the service, or delay it "
                         "through compose/toxiproxy.yml: docs/faults.md, 'Network partitions'")

    def release_isolation(self, store: str) -> None:
        return None  # never isolated

    def partition(self, store: str) -> str:
        return self.isolate(store).cut()

    def heal(self, store: str) -> str:
        return self.isolate(store).heal()

    def _port(self, store: str) -> int:
        """The host port compose/docker-compose.yml (or replicas.yml) publishes the store's server on."""
        name, index = split_node(store)
        kind = self.registry.kind(name)
        rep = kind.replication
        return self.ws.shifted(rep.port + index - 1 if index and rep else kind.port or 0)

    @property
    def durability(self) -> Durability:
        return Durability()  # fixed in compose/docker-compose.yml

    def set_durability(self, durability: Durability) -> None:
        if durability != Durability():
            raise UsageError("the compose services' durability settings are fixed in compose/docker-compose.yml")

    def _action(self, store: str, action: str) -> str:
        """kill | pause | unpause | restart | stop | start one service (fault injection)."""
        self._compose(action, self.services.get(store) or self.replica_services[store])
        if action in ("restart", "start"):
            port = self._port(store)
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
