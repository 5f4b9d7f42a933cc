"""What a server itself says about its persistence, asked right before it is killed, through the probe its
kind declares (`StoreKind.persistence`: stores/<name>/persistence.py); a kind without one says nothing.

A probe has `state(url)` (the state now), `window(url, timeout_s, then, busy_disk)` (wait until the server
shows acknowledged writes a process crash would lose, call `then` at once, return what it showed, or None)
and `brief(state)` (one line for the table).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol


class PersistenceProbe(Protocol):
    async def state(self, url: str) -> dict[str, Any]: ...

    async def window(self, url: str, timeout_s: float, then: Callable[[], object], busy_disk: bool
                     ) -> dict[str, Any] | None: ...

    def brief(self, state: dict[str, Any]) -> str: ...


async def state_of(probe: PersistenceProbe | None, url: str) -> dict[str, Any]:
    """The server's persistence state now ({} for stores without a probe; {"error": ...} on failure)."""
    if probe is None:
        return {}
    try:
        return await probe.state(url)
    except Exception as exc:
        return {"error": f"{type(exc).__name__}: {exc}"[:200]}


async def open_window(probe: PersistenceProbe | None, url: str, timeout_s: float, then: Callable[[], object],
                      busy_disk: bool = False) -> dict[str, Any] | None:
    """Wait until the server itself shows acknowledged writes that a process crash would lose, call `then` at
    once (it must not await: the window may close within milliseconds), and return what the server showed;
    None when it never did within timeout_s (or the store cannot tell). Polled every few milliseconds."""
    return None if probe is None else await probe.window(url, timeout_s, then, busy_disk)


def brief(probe: PersistenceProbe | None, state: dict[str, Any]) -> str:
    """One line for the table: what matters for a loss."""
    if not state or probe is None:
        return "-"
    if "error" in state:
        return f"(not asked: {state['error']})"
    return probe.brief(state)
