"""What steps ask a stack instead of asking which backend it is: `pid(store)` and `owns(store, url)`.

The native side on a real Redis of the test's own. The docker side has no engine here (the `docker`
command is only a client), so its command lines and the parsing of their documented output are tested
as such, and against the real client it must say it knows nothing rather than guess.
"""

from __future__ import annotations

import json
from pathlib import Path

import psutil
import pytest

from sandbox.config import Workspace, endpoint
from sandbox.stack.base import listens_at
from sandbox.stack.docker import PROJECT, DockerStack, engine_host_argv, engine_is_local, inspect_pid_argv, parse_pid
from sandbox.stores.registry import StoreRegistry
from tests.helpers import throwaway_stack

pytestmark = pytest.mark.stores("redis")  # the stores its tests start or use
PROJECT_DIR = Path(__file__).resolve().parent.parent

REGISTRY = StoreRegistry.built_in()


def test_the_native_stack_knows_the_pid_of_the_server_it_started_and_owns_only_its_url(tmp_path: Path) -> None:
    with throwaway_stack(tmp_path / "state", extra_offset=670, stores=["redis"]) as t:
        url = endpoint(t.settings, "redis").url
        pid = t.stack.pid("redis")
        assert pid is not None
        server = psutil.Process(pid)
        assert "redis-server" in server.name()
        assert any(c.laddr.port == t.port("redis") for c in server.net_connections(kind="tcp")), "not its listener"
        assert t.stack.owns("redis", url)
        other_port = url.replace(f":{t.port('redis')}/", f":{t.port('redis') + 1}/")
        assert not t.stack.owns("redis", other_port), "a URL at another port is another server"
        assert t.stack.pid("postgres") is None and not t.stack.owns("postgres", endpoint(t.settings, "postgres").url)

        t.stack.kill("redis")
        assert t.stack.pid("redis") is None and not t.stack.owns("redis", url), "a killed server is owned no more"


def _docker(tmp_path: Path, replicas: bool = False) -> DockerStack:
    ws = Workspace(tmp_path, tmp_path / "state", tmp_path / "results", port_offset=100)
    if replicas:
        ws.state_dir.mkdir(parents=True)
        (ws.state_dir / "stack.json").write_text(json.dumps({"backend": "docker", "replicas": True}))
    return DockerStack(ws, REGISTRY)


def test_docker_asks_compose_for_the_projects_own_running_container(tmp_path: Path) -> None:
    stack = _docker(tmp_path)
    compose = ["docker", "compose", "-p", PROJECT, "--env-file", str(tmp_path / "compose" / ".env"),
               "-f", str(tmp_path / "compose" / "docker-compose.yml")]
    assert stack.compose_argv(*stack.container_args("elastic")) == \
        [*compose, "ps", "-q", "--status", "running", "elasticsearch"]
    replicated = _docker(tmp_path / "r", replicas=True)
    assert replicated.compose_argv(*replicated.container_args("redis.replica1"))[-7:] == \
        ["-f", str(tmp_path / "r" / "compose" / "replicas.yml"), "ps", "-q", "--status", "running", "redis-replica"]


def test_docker_reads_the_containers_pid_only_from_an_engine_on_this_host() -> None:
    assert inspect_pid_argv("3f2a") == ["docker", "inspect", "--format", "{{.State.Pid}}", "3f2a"]
    assert engine_host_argv() == ["docker", "info", "--format", "{{.Name}}"]
    assert parse_pid("4242\n") == 4242
    assert parse_pid("0\n") is None  # a stopped container
    assert parse_pid("") is None and parse_pid("Error: No such object: 3f2a") is None
    assert engine_is_local("buildhost\n", "buildhost")
    assert not engine_is_local("docker-desktop\n", "buildhost")  # PIDs of a VM, not of this host


def test_docker_owns_only_urls_at_the_port_compose_publishes(tmp_path: Path) -> None:
    stack = _docker(tmp_path)
    assert stack._port("redis") == 16379 + 100 and stack._port("redis.replica1") == 16479 + 100
    assert listens_at("redis://:pw@127.0.0.1:16479/0", 16479)
    assert listens_at("http://localhost:19300", 19300)
    assert not listens_at("redis://:pw@10.0.0.5:16479/0", 16479), "not on this host's loopback"
    assert not listens_at("redis://127.0.0.1:16480/0", 16479)
    assert not listens_at("unix:///tmp/redis.sock", 16479) and not listens_at("http://127.0.0.1:port", 1)


def test_compose_publishes_on_the_ports_the_docker_stack_expects(tmp_path: Path) -> None:
    """compose/*.yml publish on ${SANDBOX_<NODE>_PORT:-default}; the stack sets each shifted by the offset."""
    for name in ("docker-compose.yml", "replicas.yml"):
        (tmp_path / "compose").mkdir(exist_ok=True)
        (tmp_path / "compose" / name).write_text((PROJECT_DIR / "compose" / name).read_text())
    stack = _docker(tmp_path)
    ports = stack.published_ports()
    nodes = [*stack.services, *stack.replica_services]
    assert {str(stack._port(node)) for node in nodes} <= set(ports.values()), "a node compose does not publish"
    assert ports["SANDBOX_POSTGRES_PORT"] == str(15432 + 100)
    assert ports["SANDBOX_REDIS_REPLICA_PORT"] == str(16479 + 100)
    assert ports["SANDBOX_MONGO_REPLICA2_PORT"] == str(27119 + 100)


def test_a_docker_stack_that_cannot_ask_compose_knows_no_pid_and_owns_nothing(tmp_path: Path) -> None:
    """Here no engine answers (and a fresh folder has no compose file anywhere): never a guess."""
    stack = _docker(tmp_path)
    assert stack.pid("redis") is None
    assert not stack.owns("redis", f"redis://:pw@127.0.0.1:{stack._port('redis')}/0")
