"""Read replicas, declared per store kind: how to start one natively, ask its role and lag, promote it.

A kind with replicas carries a `Replication` record (StoreKind.replication). Everything here talks to
the servers by URL with the store's own client, so the same calls work on a native replica, a compose
service or a managed replica named in SANDBOX_<STORE>_REPLICA_URL.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from sandbox.config import Backend, Setting, Settings, Workspace, mask
from sandbox.stores.launch import NativeLauncher

REPLICA_URL = "replica_url"  # the per-kind setting: config key <store>_replica_url, SANDBOX_<STORE>_REPLICA_URL


def replica_url_setting(schemes: tuple[str, ...]) -> Setting:
    """The replica endpoint of a kind; unset means "the sandbox's own replica on its port"."""
    def parse(text: str) -> str:
        if urlsplit(text).scheme not in schemes or not urlsplit(text).netloc:
            raise ValueError(f"expected a {' or '.join(s + '://' for s in schemes)} URL, got {mask(text)!r}")
        return text

    return Setting(REPLICA_URL, parse=parse)


@dataclass(frozen=True)
class ServerLag:
    """How far behind a replica is, as the servers themselves report it (None: the server does not say)."""

    lag_bytes: int | None = None  # primary's position - the replica's applied position
    write_s: float | None = None  # PostgreSQL pg_stat_replication write/flush/replay lag
    flush_s: float | None = None
    replay_s: float | None = None
    detail: str = ""  # which figure it is and who answered


@dataclass(frozen=True)
class Guarantee:
    """One read-after-write guarantee a writer can ask for, and what it costs."""

    name: str  # shown in reports: "async", "remote_apply", "WAIT 1 1000"
    options: Mapping[str, Any] = field(default_factory=dict)  # adapter options for the writer
    server: Mapping[str, Any] = field(default_factory=dict)  # what `configure` sets on the primary
    describe: str = ""


@dataclass(frozen=True)
class Replication:
    """What the sandbox knows about one kind's replicas."""

    port: int  # the first replica's host port before SANDBOX_PORT_OFFSET (replica i: port + i - 1)
    role: Callable[[str], Awaitable[str]]  # URL -> the role as the server reports it
    lag: Callable[[str, str], Awaitable[ServerLag]]  # (primary URL, replica URL) -> the servers' figure
    promote: Callable[[str], Awaitable[str]]  # replica URL -> what was done; it then takes writes
    guarantees: tuple[Guarantee, ...] = ()
    configure: Callable[[str, Guarantee], Awaitable[None]] | None = None  # set a guarantee's server part
    native: NativeLauncher | None = None  # starts a replica of a running primary; None: not on native
    compose_service: str | None = None  # its service in compose/replicas.yml
    backends_note: str = ""  # where replicas exist when not everywhere ("compose or URL only")
    needs: str = ""  # the privilege `configure` and `promote` use, as the server names it (said in a refusal)

    def available_on(self, backend: Backend | str) -> bool:
        return self.native is not None if backend == "native" else self.compose_service is not None


def replica_node(store: str, index: int = 1) -> str:
    """The name a replica process goes by in the stack and in fault schedules: postgres.replica1."""
    return f"{store}.replica{index}"


def split_node(node: str) -> tuple[str, int]:
    """postgres.replica1 -> ("postgres", 1); postgres -> ("postgres", 0)."""
    store, sep, rest = node.partition(".replica")
    return (store, int(rest)) if sep and rest.isdigit() else (node, 0)


def replica_url(settings: Settings, ws: Workspace, store: str, replication: Replication, index: int = 1) -> str:
    """The configured replica URL, else the primary's URL pointed at the sandbox's own replica port."""
    given = settings.values.get(f"{store}_{REPLICA_URL}")
    if given:
        return str(given)
    parts = urlsplit(settings.values[f"{store}_url"])
    host = parts.netloc.rsplit(":", 1)[0] if parts.port is not None else parts.netloc
    port = ws.shifted(replication.port + index - 1)
    return urlunsplit(parts._replace(netloc=f"{host}:{port}"))
