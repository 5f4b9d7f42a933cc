"""The one interface both backends implement; faults, steps and the CLI use only this."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

from sandbox.config import Backend, Workspace, mask
from sandbox.errors import UsageError
from sandbox.stack.netns import NetNamespace
from sandbox.stack.small_disk import SmallDisk
from sandbox.stores.kind import Durability


class Stack(Protocol):
    backend: Backend
    ws: Workspace
    durability_configurable: bool  # whether set_durability can change what the servers run with

    def up(self, stores: list[str], replicas: int = 0, tls: bool | None = None) -> list[str]:
        """Start the stores not yet running (those with a server), and `replicas` read replicas of each
        store that has them on this backend (named store.replicaN); returns the ones started. `tls`: with TLS
        or without (None: as before); UsageError where the backend cannot."""

    def admin_url(self, store: str) -> str:
        """The URL of the stack's own administrative login on its server of `store` (or replica): for what the
        stack does and the run's own login may not (settings, replicas, caps). Ask `privileged` first."""

    def without_tls(self, stores: list[str]) -> list[str]:
        """One line for each of `stores` whose server cannot speak TLS on this backend, saying why."""

    def discard(self, node: str) -> str:
        """Stop a replica and drop its data (a promoted replica is no replica any more)."""

    def down(self, purge: bool = False) -> list[str]:
        """Stop what this stack started; purge: delete the stores' data too (state dir / volumes)."""

    def status(self) -> dict[str, int | None]:
        """The stores (and replicas) running now: their server's PID where the backend knows it, else None."""

    def is_running(self, store: str) -> bool: ...

    def pid(self, store: str) -> int | None:
        """The main PID, on this host, of the store's server (native: the process it started; docker: the
        container's first process), or None when it is not running or the backend cannot know (an engine
        that does not answer, or runs on another host)."""

    def owns(self, store: str, url: str) -> bool:
        """Whether `url` reaches this stack's own server of `store`: one it started (native) or its compose
        project's container (docker), on loopback at the port the stack gave it. Steps that change a
        server's settings, or could drop data on it that is not the run's, ask this first."""

    def store_dir(self, store: str) -> Path | None:
        """Where the store's server keeps its data on this host's filesystem; None where the backend keeps
        it out of reach (Docker volumes)."""

    # Disk faults: a store on a small disk of its own (stack/small_disk.py); UsageError where not possible.
    def small_disk(self, store: str, size: int) -> SmallDisk:
        """Restart `store` on a fresh data directory on a tmpfs of `size` bytes only its server sees."""

    def release_small_disk(self, store: str) -> None:
        """Stop the store's server on its small disk and start it again on its usual data."""

    # Network faults: a store behind a network namespace of its own (stack/netns.py); UsageError where not possible.
    def isolate(self, store: str) -> NetNamespace:
        """Restart `store` inside a network namespace, reached through a veth pair at the namespace's address."""

    def release_isolation(self, store: str) -> None:
        """Stop the store's server in its namespace and start it again on loopback."""

    def partition(self, store: str) -> str:
        """Cut the store's link (connections hang); it must be behind a network namespace."""

    def heal(self, store: str) -> str: ...

    # Faults (sandbox.stack.faults): each blocks until done and says what it did, for the history.
    def stop(self, store: str) -> str: ...
    def kill(self, store: str) -> str: ...
    def pause(self, store: str) -> str: ...
    def resume(self, store: str) -> str: ...
    def restart(self, store: str) -> str: ...
    def start(self, store: str) -> str: ...

    @property
    def durability(self) -> Durability:
        """The durability settings the servers run with."""

    def set_durability(self, durability: Durability) -> None:
        """Run the servers with these settings from their next start (UsageError where not possible)."""


def privileged(stack: Stack, store: str, url: str, needs: str) -> str:
    """The stack's administrative URL for `store`, for an operation that needs `needs` (a privilege, named as the
    server names it), when `url` (the run's) reaches the stack's own server; one line refusing it otherwise."""
    if not stack.owns(store, url):
        raise UsageError(f"{needs} on {store}: it runs only against a server this sandbox started (`sandbox up`), "
                         f"at the URL the stack gave it; at {mask(url)} the run has its own login's privileges only")
    return stack.admin_url(store)


def listens_at(url: str, port: int, host: str | None = None) -> bool:
    """`url` points at `port` on this host's loopback (the only address the stacks publish on), or at `host`
    (a store behind a network namespace: its veth address)."""
    parts = urlsplit(url)
    try:
        return parts.hostname in ("127.0.0.1", "localhost", "::1", host) and parts.port == port
    except ValueError:  # a port that is no number
        return False
