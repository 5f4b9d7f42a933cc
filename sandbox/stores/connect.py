"""Opening and closing a run's adapters together: all connect or none, and teardown never raises."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence

from sandbox.config import mask
from sandbox.errors import UsageError
from sandbox.stores.base import ServerInfo, Store

CONNECT_TIMEOUT_S = 10.0


async def connect_all(stores: Sequence[Store]) -> dict[str, ServerInfo]:
    """Connect every store or none: an unreachable store stops the run before anything is written."""
    async def one(store: Store) -> ServerInfo:
        try:
            return await asyncio.wait_for(store.connect(), CONNECT_TIMEOUT_S)
        except Exception as exc:
            reason = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
            raise UsageError(f"{store.name} is not reachable at {mask(store.endpoint.url)} ({mask(reason)}); "
                             "start the stores with `sandbox up` or fix SANDBOX_"
                             f"{store.name.upper()}_URL") from None

    results = await asyncio.gather(*(one(s) for s in stores), return_exceptions=True)
    for r in results:
        if isinstance(r, BaseException):
            await asyncio.gather(*(s.close() for s in stores), return_exceptions=True)
            raise r
    return {s.name: r for s, r in zip(stores, results, strict=True) if isinstance(r, ServerInfo)}


async def close_all(stores: Iterable[Store], keep: bool, notes: list[str]) -> None:
    """Drop each store's namespace (unless keep) and close it; failures become notes, not exceptions.

    Shielded: it runs on Ctrl-C too, so nothing half-written stays behind."""
    async def one(store: Store) -> None:
        try:
            if not keep:
                await store.teardown()
        except Exception as exc:
            notes.append(f"teardown of {store.name} ({store.namespace}) failed: {type(exc).__name__}: {exc}"[:300])
        finally:
            try:
                await store.close()
            except Exception as exc:
                notes.append(f"closing {store.name} failed: {type(exc).__name__}"[:300])

    await asyncio.shield(asyncio.gather(*(one(s) for s in stores)))
