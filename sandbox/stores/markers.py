"""Markers: every namespace a run creates says whose it is, so a killed run's leftovers can be found.

A marker holds the run id, when the namespace was created, and the host and process that created it.
It is written right after the namespace is created (prepare), in the namespace itself, in each store's
own terms: each store kind declares how on its StoreKind (`markers=`, implemented in
`stores/<name>/markers.py`). `sandbox gc` drops only namespaces that carry one: anything without a
marker was not made by a run of this sandbox (or was made before markers existed) and is never
touched. A kind that declares no markers cannot have its leftovers found, and says so (NO_MARKERS).
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

PREFIX = "sbx_"
MARKER = "_sandbox_marker"  # the name of the marker object in a namespace (table, collection, key suffix, ...)


def no_markers(kind: str) -> str:
    """What `sandbox gc` and a run's prepare say of a kind that declares no markers."""
    return f"cannot find leftovers of {kind}: no markers"


@dataclass(frozen=True)
class Marker:
    namespace: str
    run_id: str
    created_at: datetime
    host: str
    pid: int
    objects: tuple[str, ...] = ()  # what dropping it removes (indices), where a store has several

    @classmethod
    def new(cls, namespace: str, run_id: str) -> Marker:
        return cls(namespace, run_id, datetime.now(UTC), socket.gethostname(), os.getpid())

    def fields(self) -> dict[str, str]:
        return {"namespace": self.namespace, "run_id": self.run_id, "created_at": self.created_at.isoformat(),
                "host": self.host, "pid": str(self.pid)}

    @classmethod
    def from_fields(cls, fields: dict[str, Any], objects: tuple[str, ...] = ()) -> Marker:
        return cls(str(fields["namespace"]), str(fields["run_id"]), datetime.fromisoformat(str(fields["created_at"])),
                   str(fields["host"]), int(fields["pid"]), objects)

    def age_s(self, now: datetime) -> float:
        return (now - self.created_at).total_seconds()

    def run_alive(self) -> bool:
        """The creating process still runs on this host (then its namespace is in use, not left over)."""
        if self.host != socket.gethostname():
            return False
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True


@dataclass
class Found:
    """What one store holds under the sandbox's prefix."""

    marked: list[Marker]
    unmarked: list[str]  # namespaces with the prefix but no marker: left alone


class Markers(Protocol):
    """How one store kind marks a namespace, finds the namespaces under PREFIX and drops a marked one.

    `store` is the kind's own adapter, connected (its pool or client is what the methods use)."""

    async def mark(self, store: Any, marker: Marker) -> None: ...
    async def find(self, store: Any) -> Found: ...
    async def drop(self, store: Any, marker: Marker) -> None: ...


class KeepsNothing:
    """The markers of a kind that keeps nothing on any server (the no-op store): nothing to mark or find."""

    async def mark(self, store: Any, marker: Marker) -> None:
        pass

    async def find(self, store: Any) -> Found:
        return Found([], [])

    async def drop(self, store: Any, marker: Marker) -> None:
        pass
