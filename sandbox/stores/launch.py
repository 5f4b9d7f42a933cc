"""What a store's native launcher gets and may use: its folder, port and log, and process helpers.

A launcher starts the server in the background and returns its PID; the native stack records it
and stops the server by that PID later.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sandbox.errors import UsageError
from sandbox.secure import TlsFiles


@dataclass(frozen=True)
class LaunchContext:
    root: Path  # the store's data directory (created)
    port: int
    log: Path
    secrets: Mapping[str, str]  # compose/.env
    durability: Mapping[str, Any]  # this store's server-side durability knobs
    primary: LaunchContext | None = None  # for a replica: the primary it follows
    tls: TlsFiles | None = None  # serve TLS with these certificates (`sandbox up --tls`), where the server can
    # The address the server listens on: loopback, or its network namespace's end of a veth pair (stack/netns.py).
    host: str = "127.0.0.1"


@dataclass(frozen=True)
class NativeLauncher:
    start: Callable[[LaunchContext], int]  # starts the server, returns its PID
    install_hint: str  # how to install the server when it is missing
    data_dir: Callable[[Path], Path] | None = None  # state dir -> data dir; default <state>/native/<store>
    stop_signal: signal.Signals = signal.SIGTERM
    wait_port_closed: bool = False  # after stopping, wait until the port closes (it outlives the PID)
    # After the server stopped (or was found dead): stop what it left running, e.g. RabbitMQ's epmd. Gets the data
    # dir and the shifted port; must do nothing when there is nothing to stop.
    cleanup: Callable[[Path, int], None] | None = None
    serves_tls: bool = False  # speaks TLS when the stack runs with it (its launcher reads LaunchContext.tls)
    no_tls: str = ""  # when it cannot: why, in one line (`sandbox up --tls` prints it)


def reachable_dir(state_dir: Path, store: str, user: str) -> Path:
    """A data dir in the state dir, unless (as root) `user`, who runs the server, cannot reach it: a clone in a
    mode-700 folder (mktemp -d, as CI uses); then a folder of its own under /var/tmp named after the state dir."""
    inside = state_dir / "native" / store
    if os.geteuid() != 0:
        return inside
    inside.parent.mkdir(parents=True, exist_ok=True)
    if subprocess.run(["runuser", "-u", user, "--", "test", "-x", str(inside.parent)]).returncode == 0:
        return inside
    digest = hashlib.sha1(str(state_dir).encode()).hexdigest()[:12]
    return Path("/var/tmp/polyglot-sandbox") / digest / store


def backups_dir(root: Path) -> Path:
    """The stack's folder for a server's backups (and PostgreSQL's WAL archive): beside its data directory, so a
    destroyed data directory leaves it, and `sandbox down --purge` removes it with the data's parent."""
    return root.parent / f"{root.name}-backups"


def spawn(argv: list[str], log: Path) -> int:
    with open(log, "ab") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)  # outlives the CLI; stopped by PID later
    return proc.pid


def run(argv: list[str], what: str) -> None:
    proc = subprocess.run(argv, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        raise UsageError(f"{what} failed (exit {proc.returncode}): {tail[0]}")


def which(name: str, install_hint: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise UsageError(f"{name} not found on PATH: install it ({install_hint}) or run `make up`")
    return found
