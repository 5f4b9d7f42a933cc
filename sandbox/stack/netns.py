"""A store reached through a network namespace and a veth pair, so its link can be cut and healed for real.

Native backend, root only (CAP_NET_ADMIN), with iproute2 and util-linux. A holder process (`unshare --net sleep
infinity`) keeps a private network namespace; a veth pair joins it to the host: the host end and the namespace
end each get an address of a /30 of their own in 100.64.0.0/10 (derived from the store's port, so two stacks
on other port offsets never share one), with permanent neighbour entries on both sides. The store's server is
started inside the namespace (its launcher run through nsenter: ns_launch.py) listening on the namespace end's
address, and the run's clients connect to that address.

A partition sets the namespace end of the link down. The host end loses its carrier but keeps its route and
its permanent neighbour entry, so packets still leave the host and are dropped on the way: the client sees a
connection that hangs (a SYN or a request with no answer, until its own timeout), not a refusal and not "no
route to host". Healing sets it up again; established connections resume where TCP's retransmissions find
them. Ending the holder (after the server) removes the namespace and the veth pair with it.

Latency cannot be injected here: this kernel has no sch_netem (`tc qdisc ... netem` answers "Specified qdisc
kind is unknown"); latency_unavailable() says so from the kernel itself, and compose/toxiproxy.yml is the way
with Docker (docs/faults.md).
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from sandbox.errors import UsageError
from sandbox.stack.pids import ProcessRecords, stop_process
from sandbox.stores.launch import LaunchContext

SUFFIX = "@netns"  # the holder's key in the stack's process records
BASE = ipaddress.IPv4Address("100.64.0.0")  # shared address space (RFC 6598): not a LAN, not the internet
READY_TIMEOUT_S = 10.0


def unavailable() -> str | None:
    """Why this machine cannot put a store behind a veth pair, or None when it can."""
    if os.geteuid() != 0:
        return "it needs root (a network namespace and a veth pair)"
    for binary in ("ip", "unshare", "nsenter"):
        if shutil.which(binary) is None:
            return f"{binary} not found: apt-get install -y iproute2 util-linux"
    probe = subprocess.run(["unshare", "--net", "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        why = (probe.stderr.strip().splitlines() or ["no output"])[-1]
        return f"unshare --net is not allowed here ({why}; a container without CAP_NET_ADMIN?)"
    return None


def latency_unavailable() -> str | None:
    """Why latency cannot be injected on this kernel (asked of tc in a throwaway namespace), or None."""
    if (reason := unavailable()) is not None:
        return reason
    if shutil.which("tc") is None:
        return "tc not found (apt-get install -y iproute2)"
    probe = subprocess.run(["unshare", "--net", "sh", "-c", "ip link set lo up && tc qdisc add dev lo root netem "
                            "delay 1ms"], capture_output=True, text=True)
    if probe.returncode != 0:
        why = (probe.stderr.strip().splitlines() or ["no output"])[-1]
        return f"this kernel has no sch_netem (tc: {why})"
    return None


def addresses(port: int) -> tuple[str, str]:
    """(host end, namespace end) of the store's /30, from its port."""
    net = BASE + 4 * port
    return str(net + 1), str(net + 2)


@dataclass(frozen=True)
class NetNamespace:
    store: str
    holder: int  # the process that keeps the namespace
    port: int  # the store's (shifted) port: names and addresses derive from it

    @property
    def host_if(self) -> str:
        return f"sbx{self.port}h"

    @property
    def ns_if(self) -> str:
        return f"sbx{self.port}n"

    @property
    def host_ip(self) -> str:
        return addresses(self.port)[0]

    @property
    def ns_ip(self) -> str:
        return addresses(self.port)[1]

    def inside(self, *argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["nsenter", "-t", str(self.holder), "-n", "--", *argv], capture_output=True, text=True)

    def cut(self) -> str:
        _check(self.inside("ip", "link", "set", "dev", self.ns_if, "down"), f"cut {self.store}'s link")
        return (f"link {self.ns_if} down in its network namespace: packets to {self.ns_ip} are dropped "
                "(connections hang)")

    def heal(self) -> str:
        _check(self.inside("ip", "link", "set", "dev", self.ns_if, "up"), f"heal {self.store}'s link")
        return f"link {self.ns_if} up again: {self.ns_ip} answers"

    def is_cut(self) -> bool:
        shown = self.inside("ip", "-j", "link", "show", "dev", self.ns_if)
        return shown.returncode == 0 and "UP" not in json.loads(shown.stdout)[0].get("flags", [])

    def launch(self, store: str, ctx: LaunchContext) -> int:
        """Run the store's launcher inside the namespace, the server listening on the namespace's address."""
        spec = {"store": store, "root": str(ctx.root), "port": ctx.port, "log": str(ctx.log),
                "secrets": dict(ctx.secrets), "durability": dict(ctx.durability), "host": self.ns_ip}
        proc = subprocess.run(["nsenter", "-t", str(self.holder), "-n", "--", sys.executable, "-m",
                               "sandbox.stack.ns_launch"], input=json.dumps(spec), capture_output=True, text=True)
        if proc.returncode != 0:  # secrets went through stdin, never onto a command line
            raise UsageError(f"{store} in its network namespace: "
                             + ((proc.stderr.strip().splitlines() or ["failed"])[-1]))
        return int(proc.stdout.split()[-1])


class NetNamespaces:
    """The network namespaces of one native stack, kept in its process records so any later command finds them."""

    def __init__(self, records: ProcessRecords):
        self.records = records

    def of(self, store: str) -> NetNamespace | None:
        rec = self.records.all().get(store + SUFFIX)
        if not rec or self.records.pid(store + SUFFIX) is None:
            return None
        return NetNamespace(store, int(rec["pid"]), int(rec["port"]))

    def create(self, store: str, port: int) -> NetNamespace:
        if (reason := unavailable()) is not None:
            raise UsageError(f"cannot put {store} behind a network namespace: {reason}")
        proc = subprocess.Popen(["unshare", "--net", "sleep", "infinity"], stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)
        mine = os.readlink("/proc/self/ns/net")
        deadline = time.monotonic() + READY_TIMEOUT_S
        while _netns(proc.pid) in (None, mine):
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                err = (proc.stderr.read() if proc.stderr else "").strip().splitlines() or ["timed out"]
                raise UsageError(f"cannot create a network namespace for {store}: {err[-1]}")
            time.sleep(0.02)
        self.records.add(store + SUFFIX, proc.pid, port, Path(os.devnull))
        net = NetNamespace(store, proc.pid, port)
        try:
            _wire(net)
        except BaseException:
            self.release(store)
            raise
        return net

    def release(self, store: str) -> bool:
        """End the holder (stop the server first): the namespace and its veth pair go with it."""
        key = store + SUFFIX
        net = self.of(store)
        if net is not None:
            with contextlib.suppress(ProcessLookupError):
                stop_process(net.holder, self.records.started(key), signal.SIGKILL, 0)
            _wait_gone(net.host_if)
        self.records.forget(key)
        return net is not None

    def stores(self) -> list[str]:
        return [k.removesuffix(SUFFIX) for k in self.records.all() if k.endswith(SUFFIX)]


def _wire(net: NetNamespace) -> None:
    """The veth pair, its addresses and permanent neighbour entries (so a cut link drops, never refuses)."""
    host = ["ip", "link", "del", net.host_if]
    subprocess.run(host, capture_output=True)  # left by a holder killed before it could take it along
    for argv in (["ip", "link", "add", net.host_if, "type", "veth", "peer", "name", net.ns_if],
                 ["ip", "link", "set", net.ns_if, "netns", str(net.holder)],
                 ["ip", "addr", "add", f"{net.host_ip}/30", "dev", net.host_if],
                 ["ip", "link", "set", net.host_if, "up"]):
        _check(subprocess.run(argv, capture_output=True, text=True), " ".join(argv))
    for argv in (["ip", "link", "set", "lo", "up"], ["ip", "addr", "add", f"{net.ns_ip}/30", "dev", net.ns_if],
                 ["ip", "link", "set", net.ns_if, "up"]):
        _check(net.inside(*argv), " ".join(argv))
    ns_mac = json.loads(net.inside("ip", "-j", "link", "show", "dev", net.ns_if).stdout)[0]["address"]
    host_mac = json.loads(subprocess.run(["ip", "-j", "link", "show", "dev", net.host_if], capture_output=True,
                                         text=True).stdout)[0]["address"]
    _check(subprocess.run(["ip", "neigh", "replace", net.ns_ip, "lladdr", ns_mac, "dev", net.host_if, "nud",
                           "permanent"], capture_output=True, text=True), "neighbour entry on the host")
    _check(net.inside("ip", "neigh", "replace", net.host_ip, "lladdr", host_mac, "dev", net.ns_if, "nud",
                      "permanent"), "neighbour entry in the namespace")


def _check(proc: subprocess.CompletedProcess[str], what: str) -> None:
    if proc.returncode != 0:
        raise UsageError(f"{what}: {(proc.stderr.strip().splitlines() or ['failed'])[-1]}")


def _netns(pid: int) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/ns/net")
    except OSError:
        return None


def _wait_gone(interface: str, timeout_s: float = 5.0) -> None:
    """The namespace (and the veth with it) is freed shortly after its last process: wait for that."""
    deadline = time.monotonic() + timeout_s
    while os.path.exists(f"/sys/class/net/{interface}") and time.monotonic() < deadline:
        time.sleep(0.02)
