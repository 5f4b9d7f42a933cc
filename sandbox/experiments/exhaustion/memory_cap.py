"""Resource exhaustion: a store that runs out of memory while it takes the run's writes.

`memory_cap` caps the store playing the role (its kind's `memory_cap` part; scenarios/redis-maxmemory.toml) a
little above what it holds after `prepare` and names what it does at the cap: a refusing policy refuses writes
(errors: the checker classifies them failed, nothing acknowledged may be lost), an eviction policy accepts
them and silently drops keys, acknowledged orders included (the checker reports them lost; the report names
the policy). The server's own settings come back at the end of the run.

Eviction drops keys of anyone on that server, so the step refuses to run unless the sandbox started the
server itself and every key on it belongs to this run.
"""

from __future__ import annotations

from typing import Any

from sandbox.config import endpoint
from sandbox.errors import UsageError
from sandbox.scenario.context import RunContext
from sandbox.scenario.spec import RunParams
from sandbox.scenario.step import StepSpec, role_part, with_defaults
from sandbox.stack.base import privileged

UNITS = {"b": 1, "kb": 1024, "mb": 1024**2, "gb": 1024**3}


def parse_bytes(text: Any, what: str = "memory_cap: headroom") -> int:
    raw = str(text).strip().lower()
    number = raw.rstrip("kmgb")
    unit = raw[len(number):] or "b"
    if not number.isdigit() or unit not in UNITS or int(number) <= 0:
        raise UsageError(f"{what} must be a size like 512kb or 2mb, got {text!r}")
    return int(number) * UNITS[unit]


async def memory_cap(ctx: RunContext, store: str, policy: str = "noeviction", headroom: str = "1mb") -> None:
    """Cap the store's server at its memory after `prepare` plus `headroom`, with `policy` at the cap."""
    part = role_part(ctx, "memory_cap", "store", "memory_cap", store)
    # The cap is set through the stack's own administrative login: the run's may not change server settings.
    admin = privileged(ctx.stack, store, endpoint(ctx.settings, store).url,
                       f"memory_cap changes the memory cap and may evict keys "
                       f"({getattr(part, 'needs', 'a server setting')})")
    note, restore = await part.cap(admin, ctx.stores[store].store.namespace, policy, parse_bytes(headroom), headroom)
    ctx.cleanups.append(restore)
    ctx.notes.append(f"memory_cap {store}: {note}")


def _validate(params: dict[str, Any], run: RunParams) -> None:
    parse_bytes(with_defaults(memory_cap, params)["headroom"])


STEPS = {"memory_cap": StepSpec(memory_cap, _validate, roles={"store": "memory_cap"})}
