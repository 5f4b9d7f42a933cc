"""The native backend: each store's server as a local process on loopback.

Every process is started inside the state directory by its store kind's launcher
(sandbox/stores/<name>/native.py), recorded by PID and start time (pids.py), and stopped or
signalled by that PID only (never by name), so nothing the sandbox did not start is touched, even
after a PID has been reused. PostgreSQL, Redis and InfluxDB are the real servers from the OS
packages; MongoDB and Elasticsearch are the protocol-compatible stand-ins from PyPI (README, "Backends").
"""

from __future__ import annotations

import shutil
import signal
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from signal import Signals

from sandbox.config import Backend, Workspace
from sandbox.errors import SandboxError, UsageError
from sandbox.secure import tls_files
from sandbox.stack.base import listens_at
from sandbox.stack.netns import NetNamespace, NetNamespaces
from sandbox.stack.pids import ProcessRecords, is_ours, port_open, signal_tree, stop_process, wait_port
from sandbox.stack.redis_cluster import NativeRedisCluster, cluster_root
from sandbox.stack.small_disk import SmallDisk, SmallDisks, unavailable
from sandbox.stack.tls import ensure_certificates, switch
from sandbox.stores.kind import Durability, StoreKind
from sandbox.stores.launch import LaunchContext, NativeLauncher
from sandbox.stores.registry import StoreRegistry
from sandbox.stores.replication import replica_node

READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 20.0
MAX_REPLICAS = 2


@dataclass(frozen=True)
class Node:
    """One server process: a store's primary, or one of its replicas (primary: the store it follows)."""

    kind: StoreKind
    launcher: NativeLauncher
    port: int  # before SANDBOX_PORT_OFFSET
    primary: str | None = None


def nodes_of(registry: StoreRegistry) -> dict[str, Node]:
    """Every process a native stack may run: each store with a server, and its replicas (store.replicaN)."""
    nodes: dict[str, Node] = {}
    for name, kind in registry.kinds.items():
        if kind.native is None or not kind.port:
            continue
        nodes[name] = Node(kind, kind.native, kind.port)
        rep = kind.replication
        if rep is not None and rep.native is not None:
            for i in range(1, MAX_REPLICAS + 1):
                nodes[replica_node(name, i)] = Node(kind, rep.native, rep.port + i - 1, primary=name)
    return nodes


class NativeStack:
    """Starts, stops and signals the native server processes of one state directory."""

    durability_configurable = True
    backend: Backend = "native"

    def __init__(self, ws: Workspace, secrets: Mapping[str, str], registry: StoreRegistry,
                 durability: Durability | None = None):
        self.ws = ws
        self.state_dir = ws.state_dir
        self.secrets = secrets
        self.registry = registry
        self.nodes = nodes_of(registry)  # the registry is fixed for the stack's life
        self._durability = durability or Durability()
        self.records = ProcessRecords(self.state_dir / "stack.json")
        self.disks = SmallDisks(self.records)
        self.nets = NetNamespaces(self.records)

    @property
    def durability(self) -> Durability:
        return self._durability

    def set_durability(self, durability: Durability) -> None:
        self._durability = durability

    def store_dir(self, store: str) -> Path:
        node = self.nodes[store]
        if node.primary is not None:  # beside its primary's folder (PostgreSQL's may live outside the state dir)
            return self.store_dir(node.primary).parent / store
        data_dir = node.launcher.data_dir
        return data_dir(self.state_dir) if data_dir else self.state_dir / "native" / store

    def pid(self, store: str) -> int | None:
        return self.records.pid(store)

    def owns(self, store: str, url: str) -> bool:
        node = self.nodes.get(store)
        if node is None or self.pid(store) is None:
            return False
        net = self.nets.of(store)
        return listens_at(url, self.ws.shifted(node.port), net.ns_ip if net else None)

    def admin_url(self, store: str) -> str:
        """The URL of the stack's own administrative login on its server of `store` (a replica's on its port), in
        the same TLS form as the run's URLs."""
        node = self.nodes[store]
        kind, port = node.kind, self.ws.shifted(node.port)
        url = (kind.admin_url or kind.default_url)(self.backend, self.secrets, port)
        files = tls_files(self.state_dir)
        if files is not None and kind.tls is not None and node.launcher.serves_tls:
            url = kind.tls.verified(url, str(files.ca))
        return url

    @property
    def tls(self) -> bool:
        return tls_files(self.state_dir) is not None

    def without_tls(self, stores: list[str]) -> list[str]:
        """One line for each of `stores` whose server cannot speak TLS here, saying why."""
        return [f"{s}: {self.nodes[s].launcher.no_tls or 'its native server speaks no TLS'}; plain text on loopback"
                for s in stores if s in self.nodes and not self.nodes[s].launcher.serves_tls]

    def running(self) -> dict[str, int]:
        return {s: p for s in self.nodes if (p := self.pid(s)) is not None}

    def status(self) -> dict[str, int | None]:
        return dict(self.running())

    def is_running(self, store: str) -> bool:
        return self.pid(store) is not None

    # -- lifecycle ---------------------------------------------------------------------------
    def up(self, stores: list[str], replicas: int = 0, tls: bool | None = None) -> list[str]:
        """Start the stores not yet running, and up to `replicas` replicas of each store that has them
        natively; on any failure stop what this call started. `tls`: start the servers with TLS (certificates
        of the stack's own CA, stack/tls.py) or without; None: as the state dir last said."""
        if not 0 <= replicas <= MAX_REPLICAS:
            raise UsageError(f"--replicas {replicas}: choose 0 to {MAX_REPLICAS}")
        if tls is not None and tls != self.tls:
            if running := list(self.running()):
                raise UsageError(f"the stack runs {'with' if self.tls else 'without'} TLS ({', '.join(running)}): "
                                 f"stop it with `sandbox down`, then `sandbox up{' --tls' if tls else ''}`")
            switch(self.state_dir, tls)
        elif self.tls:
            ensure_certificates(self.state_dir)  # made again if deleted, renewed within a day of expiry
        for store in self.disks.stores():  # left by a run that was killed mid-way: back to the usual data
            self.release_small_disk(store)
        for store in self.nets.stores():  # and back on loopback
            self.release_isolation(store)
        wanted = [n for s in stores for n in (s, *(replica_node(s, i) for i in range(1, replicas + 1)))]
        started: list[str] = []
        try:
            for node in wanted:
                if node in self.nodes and self.pid(node) is None:
                    self.launch(node)
                    started.append(node)
        except BaseException:
            for store in reversed(started):
                self.terminate(store)
            raise
        return started

    def down(self, purge: bool = False) -> list[str]:
        recorded = self.records.all()
        stopped = [s for s in self.nodes if s in recorded and self.terminate(s)]
        for store in self.nodes:  # also after a kill: the server is gone, what it left may not be
            if store not in stopped:
                self._clean_up(store)
        for store in self.disks.stores():  # after their servers: the tmpfs goes with the namespace
            self.disks.release(store)
        for store in self.nets.stores():  # the veth pairs go with their namespaces
            self.nets.release(store)
        # A reshard run stopped hard (SIGKILL) leaves its throwaway cluster nodes: stop them by their PIDs too.
        NativeRedisCluster(cluster_root(self.state_dir), [], "").stop()
        if self.records.path.exists() and not self.records.all():
            self.records.path.unlink()
        if purge:  # every store's data too (tests use throwaway stacks)
            outside = [d for s in self.nodes if not (d := self.store_dir(s)).is_relative_to(self.state_dir)]
            shutil.rmtree(self.state_dir, ignore_errors=True)
            for data in outside:
                shutil.rmtree(data.parent, ignore_errors=True)
        return stopped

    def launch(self, store: str) -> int:
        """Start one store on its data directory (reused if present) and wait until it answers."""
        node = self.nodes[store]
        port = self.ws.shifted(node.port)
        primary = None
        if node.primary is not None:
            if self.pid(node.primary) is None:
                raise UsageError(f"{store} follows {node.primary}, which is not running: start it first")
            primary = LaunchContext(self.store_dir(node.primary), self.ws.shifted(node.kind.port or 0),
                                    self.store_dir(node.primary) / "server.log", self.secrets, {})
        disk, net = self.disks.of(store), self.nets.of(store)
        host = net.ns_ip if net else "127.0.0.1"
        if port_open(port):
            raise UsageError(f"port {port} for {store} is already in use by a process the sandbox did not start: "
                             f"stop it, or point the sandbox at it with SANDBOX_{store.upper()}_URL")
        root = self.store_dir(store)
        root.mkdir(parents=True, exist_ok=True)
        log = root / "server.log"
        tls = tls_files(self.state_dir) if node.launcher.serves_tls else None
        if primary is not None:
            primary = replace(primary, tls=tls)
        ctx = LaunchContext(root, port, log, self.secrets, self._durability.server(node.kind), primary, tls)
        if disk and net:
            raise UsageError(f"{store} cannot be on a small disk and behind a network namespace at once")
        pid = disk.launch(store, ctx) if disk else net.launch(store, ctx) if net else node.launcher.start(ctx)
        log = disk.inside(log) if disk else log
        started = self.records.add(store, pid, port, log)
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not port_open(port, host):
            if not is_ours(pid, started):
                self.records.forget(store)
                raise UsageError(f"{store} exited during start-up; see its log: {log}")
            if time.monotonic() > deadline:
                self.terminate(store)
                raise UsageError(f"{store} did not answer on port {port} within {READY_TIMEOUT_S:.0f} s; "
                                 f"see its log: {log}")
            time.sleep(0.05)
        return pid

    def terminate(self, store: str) -> bool:
        """Stop a store gracefully by its recorded PID (SIGKILL after a timeout); True if one was stopped."""
        pid = self.pid(store)
        if pid is None:
            self.records.forget(store)
            return False
        node = self.nodes[store]
        stop_process(pid, self.records.started(store), node.launcher.stop_signal, STOP_TIMEOUT_S)
        if node.launcher.wait_port_closed:
            net = self.nets.of(store)
            wait_port(self.ws.shifted(node.port), False, 10.0, net.ns_ip if net else "127.0.0.1")
        self.records.forget(store)
        self._clean_up(store)
        return True

    def _clean_up(self, store: str) -> None:
        """What the store's server leaves running after it stopped (RabbitMQ's epmd), stopped too."""
        node = self.nodes[store]
        if node.launcher.cleanup is not None:
            node.launcher.cleanup(self.store_dir(store), self.ws.shifted(node.port))

    def _shut_down(self, store: str) -> bool:
        """Stop a store if it runs, paused or not (a paused server cannot stop); True if one was stopped."""
        if self.pid(store) is None:
            return False
        self.signal(store, signal.SIGCONT)
        return self.terminate(store)

    def signal(self, store: str, sig: Signals) -> list[int]:
        """Send SIGKILL, SIGSTOP or SIGCONT to a running store's server and its child processes (pids.py
        signal_tree); the PIDs signalled, the server's first."""
        pid = self.pid(store)
        if pid is None:
            raise UsageError(f"{store} is not running on the native backend; start it with `sandbox up`")
        pids = signal_tree(pid, self.records.started(store), sig)
        if sig == signal.SIGKILL:
            self.records.forget(store)
        return pids

    def discard(self, store: str) -> str:
        """Stop a replica and delete its data, so the next `up --replicas` clones it afresh (after a promotion)."""
        if self.nodes[store].primary is None:
            raise UsageError(f"{store} is not a replica; only replicas are discarded")
        self._shut_down(store)
        shutil.rmtree(self.store_dir(store), ignore_errors=True)
        return "stopped and its data deleted"

    def small_disk(self, store: str, size: int) -> SmallDisk:
        """Restart `store` on a fresh data directory on a tmpfs of `size` bytes in a private mount namespace
        (small_disk.py); its usual data stays where it is, unseen by that server, until release_small_disk."""
        node = self.nodes.get(store)
        if node is None or node.primary is not None:
            raise UsageError(f"{store} has no server of its own to put on a small disk")
        if (reason := unavailable()) is not None:  # asked before the server is stopped
            raise UsageError(f"cannot give {store} a small disk: {reason}")
        self._shut_down(store)
        try:
            disk = self.disks.mount(store, self.store_dir(store), size)
            self.launch(store)
        except BaseException:
            self.release_small_disk(store)  # back on its usual data
            raise
        return disk

    def release_small_disk(self, store: str) -> None:
        """Stop the server on the small disk, drop the tmpfs, start the store again on its usual data."""
        self._shut_down(store)
        self.disks.release(store)
        self.launch(store)

    def isolate(self, store: str) -> NetNamespace:
        """Restart `store` inside a network namespace of its own, reached through a veth pair (netns.py); the
        same data directory. Its clients must connect to the namespace's address from now on."""
        node = self.nodes.get(store)
        if node is None or node.primary is not None:
            raise UsageError(f"{store} has no server of its own to put behind a network namespace")
        if self.nets.of(store) is not None:
            raise UsageError(f"{store} is behind a network namespace already")
        if self.disks.of(store) is not None:
            raise UsageError(f"{store} is on a small disk: it cannot be behind a network namespace too")
        self._shut_down(store)
        try:
            net = self.nets.create(store, self.ws.shifted(node.port))
            self.launch(store)
        except BaseException:
            self.release_isolation(store)  # back on loopback
            raise
        return net

    def release_isolation(self, store: str) -> None:
        """Stop the server in its network namespace, drop the namespace, start it again on loopback."""
        self._shut_down(store)
        self.nets.release(store)
        self.launch(store)

    def partition(self, store: str) -> str:
        return self._net(store, "partition").cut()

    def heal(self, store: str) -> str:
        return self._net(store, "heal").heal()

    def _net(self, store: str, action: str) -> NetNamespace:
        net = self.nets.of(store)
        if net is None:
            raise SandboxError(f"cannot {action} {store}: it is not behind a network namespace (an `isolate` "
                               "phase before the faults puts it there)")
        return net

    # -- faults (the Stack protocol) -----------------------------------------------------------
    def start(self, store: str) -> str:
        if self.pid(store) is not None:
            return "already running"
        return f"started again on the same data directory (pid {self.launch(store)})"

    def restart(self, store: str) -> str:
        was = "stopped, " if self._shut_down(store) else ""
        return f"{was}started again on the same data directory (pid {self.launch(store)})"

    def stop(self, store: str) -> str:
        self._require(store, "stop")
        self._shut_down(store)
        return "stopped (graceful shutdown)"

    def kill(self, store: str) -> str:
        return self._send(store, "kill", signal.SIGKILL)

    def pause(self, store: str) -> str:
        return self._send(store, "pause", signal.SIGSTOP)

    def resume(self, store: str) -> str:
        return self._send(store, "resume", signal.SIGCONT)

    def _send(self, store: str, action: str, sig: Signals) -> str:
        self._require(store, action)
        pids = self.signal(store, sig)
        return f"{sig.name} to pid {pids[0]}" + (f" and its {len(pids) - 1} child processes" if len(pids) > 1 else "")

    def _require(self, store: str, action: str) -> None:
        if self.pid(store) is None:
            raise SandboxError(f"cannot {action} {store}: it is not running")
