"""Opening and closing a run's adapters together: all connect or none, and teardown never raises."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Sequence

from sandbox.config import mask
from sandbox.errors import SandboxError, UsageError, first_line
from sandbox.stores.contract import ModelStore, ServerInfo
from sandbox.stores.markers import Marker, no_markers
from sandbox.stores.registry import StoreRegistry
from sandbox.stores.tls import ca_in, quiet_abandoned_handshakes, refused_line, tls_failure
from sandbox.workload.dataset import Dataset

CONNECT_TIMEOUT_S = 10.0
READY_TIMEOUT_S = 60.0
# Errors a just-restarted server answers with while it is still starting: Redis replaying its AOF
# accepts connections but answers LOADING; PostgreSQL in recovery refuses with CannotConnectNow.
STARTING_UP = ("Loading", "CannotConnectNow")


async def connect_all(stores: Sequence[ModelStore]) -> dict[str, ServerInfo]:
    """Connect every store or none: an unreachable store stops the run before anything is written."""
    quiet_abandoned_handshakes()

    async def one(store: ModelStore) -> ServerInfo:
        try:
            async with asyncio.timeout(CONNECT_TIMEOUT_S):
                return await store.connect()
        except Exception as exc:
            if (why := tls_failure(exc)) is not None:
                raise UsageError(refused_line(store.name, store.endpoint.url, ca_in(store.endpoint), why)) from None
            reason = first_line(exc, 160)
            raise UsageError(f"{store.name} is not reachable at {mask(store.endpoint.url)} ({mask(reason)}); "
                             "start the stores with `sandbox up` or fix SANDBOX_"
                             f"{store.name.upper()}_URL") from None

    results = await asyncio.gather(*(one(s) for s in stores), return_exceptions=True)
    for r in results:
        if isinstance(r, BaseException):
            await asyncio.gather(*(s.close() for s in stores), return_exceptions=True)
            raise r
    return {s.name: r for s, r in zip(stores, results, strict=True) if isinstance(r, ServerInfo)}


async def close_all(stores: Iterable[ModelStore], keep: bool, notes: list[str]) -> None:
    """Drop each store's namespace (unless keep) and close it; failures become notes, not exceptions.

    Shielded: it runs on Ctrl-C too, so nothing half-written stays behind."""
    async def one(store: ModelStore) -> None:
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


async def prepare_all(stores: Sequence[ModelStore], data: Dataset, run_id: str, registry: StoreRegistry,
                      notes: list[str], ready_timeout_s: float = READY_TIMEOUT_S) -> None:
    """Create each store's namespace and design, mark it as run_id's (for `sandbox gc`: its kind's `markers`) and
    load the reference data, waiting out a server that is still starting (a fault step may have restarted it a
    moment ago); any other failure names the store. A kind without markers gets its namespace unmarked, and
    `notes` says so once (a run prepares again after a restart: the same line is not repeated)."""
    for store in stores:
        if registry.kind(store.name).markers is None and (line := no_markers(store.name)) not in notes:
            notes.append(line)

    async def one(store: ModelStore) -> None:
        markers = registry.kind(store.name).markers
        deadline = time.monotonic() + ready_timeout_s
        while True:
            try:
                await store.prepare(data)
                if markers is not None:
                    await markers.mark(store, Marker.new(store.namespace, run_id))
                return
            except SandboxError:
                raise
            except Exception as exc:
                if any(s in type(exc).__name__ for s in STARTING_UP) and time.monotonic() < deadline:
                    await asyncio.sleep(0.1)
                    continue
                raise SandboxError(f"prepare failed on {store.name}: {type(exc).__name__}: {exc}"[:300]) from exc

    await asyncio.gather(*(one(s) for s in stores))
