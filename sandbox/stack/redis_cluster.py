"""A throwaway Redis Cluster of local redis-server processes, managed with redis-cli's cluster commands.

Each node runs in a folder of its own under the cluster's root, is recorded there (nodes.json) by PID
and the kernel's start time, and is stopped by that PID only. Slots move with the same commands an
operator would use: `redis-cli --cluster add-node`, `rebalance --cluster-use-empty-masters`, and
`rebalance --cluster-weight <node>=0` then `del-node` to drain a master and take it out.
The password reaches redis-cli through REDISCLI_AUTH and the servers through mode-600 files, never argv.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from sandbox.errors import UsageError
from sandbox.stack.pids import is_ours, port_open, start_time, stop_process
from sandbox.stores.launch import spawn

SLOTS = 16384
READY_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0
REDIS_CLI_TIMEOUT_S = 600.0
INSTALL_HINT = "apt-get install -y redis-server (it brings redis-cli)"


def cluster_root(state_dir: Path) -> Path:
    """Where the reshard step's throwaway cluster lives (and `sandbox down` looks for leftovers)."""
    return state_dir / "native" / "redis-cluster"


@dataclass(frozen=True)
class Node:
    id: str
    port: int
    slots: int  # hash slots this master serves
    master: bool


def parse_nodes(text: str) -> list[Node]:
    """CLUSTER NODES output -> one Node per line (slot ranges counted; migrating/importing markers skipped)."""
    nodes = []
    for line in text.strip().splitlines():
        fields = line.split()
        port = int(re.split(r"[:@]", fields[1])[1])
        slots = 0
        for spec in fields[8:]:
            if spec.startswith("["):
                continue
            low, _, high = spec.partition("-")
            slots += int(high or low) - int(low) + 1
        nodes.append(Node(fields[0], port, slots, "master" in fields[2].split(",")))
    return nodes


class NativeRedisCluster:
    """Redis Cluster nodes on 127.0.0.1:<ports>; the first `masters` form the cluster, the rest wait to join."""

    def __init__(self, root: Path, ports: list[int], password: str):
        self.root = root
        self.ports = ports
        self.password = password
        self.record_path = root / "nodes.json"

    # -- processes ---------------------------------------------------------------------------
    def _records(self) -> dict[str, dict]:
        return json.loads(self.record_path.read_text()) if self.record_path.exists() else {}

    def _save(self, records: dict[str, dict]) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.record_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(records, indent=2))
        tmp.replace(self.record_path)

    def start(self) -> None:
        """Start every node (all empty, cluster mode on) and wait until each answers."""
        binary = shutil.which("redis-server")
        if binary is None or shutil.which("redis-cli") is None:
            raise UsageError(f"redis-server and redis-cli are needed for a Redis Cluster: {INSTALL_HINT}")
        for port in self.ports:
            if port_open(port) or port_open(port + 10000):
                raise UsageError(f"port {port} (or its cluster bus port {port + 10000}) is in use by a process "
                                 "the sandbox did not start: choose another SANDBOX_PORT_OFFSET")
        records = self._records()
        try:
            for port in self.ports:
                node_dir = self.root / str(port)
                shutil.rmtree(node_dir, ignore_errors=True)  # a throwaway cluster starts from nothing
                node_dir.mkdir(parents=True)
                conf = node_dir / "redis.conf"
                conf.write_text("\n".join([
                    "bind 127.0.0.1", f"port {port}", "daemonize no", f"dir {node_dir}",
                    f"logfile {node_dir / 'server.log'}", "cluster-enabled yes", "cluster-config-file nodes.conf",
                    "cluster-node-timeout 5000", f"requirepass {self.password}", f"masterauth {self.password}",
                    "appendonly no", 'save ""',
                ]) + "\n")
                conf.chmod(0o600)
                pid = spawn([binary, str(conf)], node_dir / "server.log")
                records[str(port)] = {"pid": pid, "started": start_time(pid)}
                self._save(records)
            for port in self.ports:
                self._wait_ready(port)
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self, port: int) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        rec = self._records()[str(port)]
        while not port_open(port):
            if not is_ours(rec["pid"], rec["started"]):
                raise UsageError(f"redis cluster node {port} exited during start-up; see {self.root / str(port)}")
            if time.monotonic() > deadline:
                raise UsageError(f"redis cluster node {port} did not answer within {READY_TIMEOUT_S:.0f} s")
            time.sleep(0.05)

    def stop(self) -> None:
        """Stop every node this cluster started, by PID (SIGTERM, then SIGKILL after a grace period)."""
        records = self._records()
        for port, rec in list(records.items()):
            if is_ours(rec["pid"], rec["started"]):
                stop_process(rec["pid"], rec["started"], signal.SIGTERM, STOP_TIMEOUT_S)
            del records[port]
            self._save(records)

    def purge(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    # -- cluster management: redis-cli, as an operator would run it ---------------------------------------
    def cli(self, *args: str, timeout: float = REDIS_CLI_TIMEOUT_S) -> str:
        proc = subprocess.run(["redis-cli", *args], capture_output=True, text=True, timeout=timeout,
                              env={**os.environ, "REDISCLI_AUTH": self.password})
        out = proc.stdout + proc.stderr
        if proc.returncode != 0 or "[ERR]" in out:
            plain = re.sub(r"\x1b\[[0-9;]*m", "", out)  # redis-cli colours its messages
            why = [line for line in plain.splitlines() if "[ERR]" in line or "ERR" in line][:1] or \
                [line for line in plain.splitlines() if line.strip()][-1:] or ["no output"]
            raise UsageError(f"redis-cli {' '.join(args[:2])} failed (exit {proc.returncode}): {why[0].strip()}")
        return out

    def create(self, masters: int) -> None:
        self.cli("--cluster", "create", *(f"127.0.0.1:{p}" for p in self.ports[:masters]), "--cluster-yes")
        self.wait_converged(self.ports[:masters])

    def nodes(self, port: int | None = None) -> list[Node]:
        return parse_nodes(self.cli("-p", str(port or self.ports[0]), "cluster", "nodes"))

    def wait_converged(self, ports: list[int], timeout_s: float = READY_TIMEOUT_S) -> None:
        """Until every node agrees that all 16384 slots are served (`cluster_state:ok` everywhere)."""
        deadline = time.monotonic() + timeout_s
        while any("cluster_state:ok" not in self.cli("-p", str(p), "cluster", "info") for p in ports):
            if time.monotonic() > deadline:
                raise UsageError(f"redis cluster on ports {ports} did not reach cluster_state:ok in {timeout_s:.0f} s")
            time.sleep(0.2)

    def add_master(self, port: int) -> None:
        """Join an empty node as a master (it serves no slot yet)."""
        self.cli("--cluster", "add-node", f"127.0.0.1:{port}", f"127.0.0.1:{self.ports[0]}")
        # Rebalance plans from what every member knows: wait until gossip has told them all.
        members = [n.port for n in self.nodes()]
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not all(port in {n.port for n in self.nodes(p)} for p in members):
            if time.monotonic() > deadline:
                raise UsageError(f"node {port} did not join the cluster within {READY_TIMEOUT_S:.0f} s")
            time.sleep(0.2)
        # A MIGRATE into a node that does not yet see all slots served is refused (CLUSTERDOWN).
        self.wait_converged([*members, port])

    def rebalance_onto_empty(self, pipeline: int = 10) -> str:
        """Move slots until every master serves an equal share, empty masters included."""
        return self.cli("--cluster", "rebalance", f"127.0.0.1:{self.ports[0]}", "--cluster-use-empty-masters",
                        "--cluster-pipeline", str(pipeline))

    def drain_and_remove(self, port: int, pipeline: int = 10) -> str:
        """Move every slot off one master (weight 0), then take it out of the cluster."""
        node = next(n for n in self.nodes() if n.port == port)
        entry = next(p for p in self.ports if p != port)
        out = self.cli("--cluster", "rebalance", f"127.0.0.1:{entry}", "--cluster-weight", f"{node.id}=0",
                       "--cluster-pipeline", str(pipeline))
        out += self.cli("--cluster", "del-node", f"127.0.0.1:{entry}", node.id)
        return out
