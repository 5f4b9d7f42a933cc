"""`sandbox gc`: find the namespaces killed runs left behind, on every configured store, and drop them.

Only namespaces carrying a marker (sandbox.stores.markers; each kind's own in its `markers`) are
candidates; one whose run still runs on this host, or younger than --older-than, is kept. Nothing is
dropped unless asked (--yes). A kind that declares no markers is not checked, and says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sandbox.config import Settings, endpoint, mask
from sandbox.errors import UsageError
from sandbox.stores import connection_store
from sandbox.stores.markers import Marker, no_markers
from sandbox.stores.registry import registry_of
from sandbox.stores.tls import quiet_abandoned_handshakes, tls_failure

CONNECT_TIMEOUT_S = 10.0
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass
class Leftover:
    marker: Marker
    age_s: float
    action: str  # "drop", "kept: younger than --older-than", "kept: its run is still running", "dropped", ...


@dataclass
class StoreLeftovers:
    store: str
    url: str  # password masked
    error: str | None = None  # could not be checked (unreachable, no permission)
    leftovers: list[Leftover] = field(default_factory=list)
    unmarked: list[str] = field(default_factory=list)  # never touched


def parse_age(text: str) -> float:
    """'90s', '30m', '1h', '2d' or a plain number of seconds."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", text)
    if not match:
        raise UsageError(f"--older-than: expected a duration like 90s, 30m, 1h or 2d, got {text!r}")
    return float(match.group(1)) * UNITS[match.group(2) or "s"]


async def collect(settings: Settings, stores: list[str], older_than_s: float, drop: bool) -> list[StoreLeftovers]:
    now = datetime.now(UTC)
    quiet_abandoned_handshakes()
    return list(await asyncio.gather(*(_one(settings, name, older_than_s, drop, now) for name in stores)))


async def _one(settings: Settings, name: str, older_than_s: float, drop: bool, now: datetime) -> StoreLeftovers:
    ep = endpoint(settings, name)
    out = StoreLeftovers(name, mask(ep.url))
    markers = registry_of(settings).kind(name).markers
    if markers is None:
        out.error = no_markers(name)
        return out
    adapter = connection_store(settings, name, "sbx_gc")  # a connection only: gc creates nothing
    try:
        async with asyncio.timeout(CONNECT_TIMEOUT_S):
            await adapter.connect()
        found = await markers.find(adapter)
        out.unmarked = found.unmarked
        for marker in sorted(found.marked, key=lambda m: m.created_at):
            age = marker.age_s(now)
            action = ("kept: its run is still running" if marker.run_alive()
                      else "kept: younger than --older-than" if age < older_than_s else "drop")
            if action == "drop" and drop:
                try:
                    await markers.drop(adapter, marker)
                    action = "dropped"
                except Exception as exc:
                    action = mask(f"drop failed: {type(exc).__name__}: {exc}"[:200])
            out.leftovers.append(Leftover(marker, age, action))
    except Exception as exc:
        why = tls_failure(exc)
        out.error = f"TLS refused: {why}" if why else \
            mask(f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:200])
    finally:
        with contextlib.suppress(Exception):
            async with asyncio.timeout(CONNECT_TIMEOUT_S):
                await adapter.close()
    return out
