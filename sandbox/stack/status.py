"""Asking each configured store who it is, through its own adapter."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

from sandbox.config import Settings, Workspace, endpoint, mask
from sandbox.errors import first_line
from sandbox.stores import connection_store
from sandbox.stores.registry import registry_of
from sandbox.stores.replication import REPLICA_URL, replica_node, replica_url, split_node
from sandbox.stores.tls import quiet_abandoned_handshakes, tls_failure

PROBE_TIMEOUT_S = 8.0


@dataclass(frozen=True)
class StoreStatus:
    store: str
    url: str  # password masked
    reachable: bool
    server: str  # as the server reports itself, or why it could not be asked


def _reason(exc: Exception) -> str:
    """Why a server could not be asked (masked)."""
    if (why := tls_failure(exc)) is not None:
        return f"TLS refused: {why}"
    return mask(first_line(exc, 120))


async def probe(settings: Settings, store: str) -> StoreStatus:
    ep = endpoint(settings, store)
    adapter = connection_store(settings, store, "sbx_status_probe")
    try:
        async with asyncio.timeout(PROBE_TIMEOUT_S):
            info = await adapter.connect()
        return StoreStatus(store, mask(ep.url), True, str(info))
    except Exception as exc:  # any failure means "not reachable"; the reason is shown
        return StoreStatus(store, mask(ep.url), False, _reason(exc))
    finally:
        with contextlib.suppress(Exception):  # a half-open client may fail to close; nothing to report
            async with asyncio.timeout(PROBE_TIMEOUT_S):
                await adapter.close()


async def gather_status(settings: Settings, stores: list[str]) -> list[StoreStatus]:
    quiet_abandoned_handshakes()
    return list(await asyncio.gather(*(probe(settings, s) for s in stores)))


async def replica_status(settings: Settings, ws: Workspace, nodes: list[str]) -> list[StoreStatus]:
    """Each replica (store.replicaN running in the stack, or given by URL): its role as the server reports it."""
    async def one(node: str) -> StoreStatus:
        store, index = split_node(node)
        rep = registry_of(settings).kind(store).replication
        assert rep is not None
        url = replica_url(settings, ws, store, rep, index)
        try:
            async with asyncio.timeout(PROBE_TIMEOUT_S):
                role = await rep.role(url)
            return StoreStatus(node, mask(url), True, role)
        except Exception as exc:  # shown as the reason it is not reachable
            return StoreStatus(node, mask(url), False, _reason(exc))

    return list(await asyncio.gather(*(one(n) for n in nodes)))


def replica_nodes(settings: Settings, running: list[str], stores: list[str]) -> list[str]:
    """The replicas to show: those the stack runs, and one per store whose replica URL is configured."""
    kinds = registry_of(settings).kinds
    by_url = [replica_node(s) for s in stores
              if kinds[s].replication is not None and settings.values.get(f"{s}_{REPLICA_URL}")]
    return sorted({n for n in running if split_node(n)[1]} | set(by_url))
