"""Asking each configured store who it is, through its own adapter."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

from sandbox.config import Settings, endpoint, mask
from sandbox.stores import make_store

PROBE_TIMEOUT_S = 8.0


@dataclass(frozen=True)
class StoreStatus:
    store: str
    url: str  # password masked
    reachable: bool
    server: str  # as the server reports itself, or why it could not be asked


async def probe(settings: Settings, store: str) -> StoreStatus:
    ep = endpoint(settings, store)
    adapter = make_store(settings, store, namespace="sbx_status_probe")
    try:
        info = await asyncio.wait_for(adapter.connect(), PROBE_TIMEOUT_S)
        return StoreStatus(store, mask(ep.url), True, str(info))
    except Exception as exc:  # any failure means "not reachable"; the reason is shown
        reason = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
        return StoreStatus(store, mask(ep.url), False, mask(reason))
    finally:
        with contextlib.suppress(Exception):  # a half-open client may fail to close; nothing to report
            await asyncio.wait_for(adapter.close(), PROBE_TIMEOUT_S)


async def gather_status(settings: Settings, stores: list[str]) -> list[StoreStatus]:
    return list(await asyncio.gather(*(probe(settings, s) for s in stores)))
