"""Durability profiles: `redis.appendonly=no,postgres.synchronous_commit=off` -> per-store settings.

A profile names only what it changes; everything else keeps the kinds' defaults (each store kind
declares its knobs in sandbox/stores/<name>/__init__.py). Client knobs (MongoDB's write concern)
go to the adapter, the others to the server.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sandbox.errors import UsageError
from sandbox.stores.kind import Durability
from sandbox.stores.registry import StoreRegistry


@dataclass(frozen=True)
class Profile:
    name: str  # as given, e.g. "default" or "redis.appendonly=no"
    durability: Durability = field(default_factory=Durability)

    def describe(self, registry: StoreRegistry, store: str) -> str:
        kind = registry.kind(store)
        return kind.durability.describe(self.durability.values(kind))

    def client_options(self, registry: StoreRegistry, store: str) -> dict[str, Any]:
        return self.durability.client_options(registry.kind(store))


def parse_profile(text: str, registry: StoreRegistry) -> Profile:
    text = text.strip()
    if text in ("", "default"):
        return Profile("default")
    knobs = {f"{k.name}.{knob.name}": knob for k in registry.kinds.values() for knob in k.durability.knobs}
    changes: dict[str, Any] = {}
    for part in text.split(","):
        key, sep, value = (s.strip() for s in part.partition("="))
        if not sep:
            raise UsageError(f"durability {part!r}: expected store.setting=value, e.g. redis.appendonly=no")
        if key not in knobs:
            without = [n for n, k in registry.kinds.items() if not k.durability.knobs and k.in_default_set]
            raise UsageError(f"durability: unknown setting {key!r}; settings: {', '.join(knobs)}"
                             + (f" ({' and '.join(without)} have none on the native backend)" if without else ""))
        knob = knobs[key]
        choice = value if knob.client else value.lower()
        if choice not in knob.choices:
            raise UsageError(f"durability {key}: expected one of {', '.join(knob.choices)}, got {value!r}")
        if knob.choices[choice] != knob.default:
            changes[key] = knob.choices[choice]
    return Profile(text, Durability(changes))


def parse_profiles(raw: object, registry: StoreRegistry) -> list[Profile]:
    """A list of profile strings, or one string with profiles separated by `|` (handy on a command line)."""
    if isinstance(raw, str):
        raw = raw.split("|")
    if not isinstance(raw, list) or not raw or not all(isinstance(p, str) for p in raw):
        raise UsageError("durability: expected profiles like \"default|redis.appendonly=no\" or a list of strings")
    return [parse_profile(p, registry) for p in raw]
