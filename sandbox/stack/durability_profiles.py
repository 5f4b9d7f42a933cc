"""Durability profiles: `redis.appendonly=no,postgres.synchronous_commit=off` -> native server settings.

A profile names only what it changes; everything else keeps NativeStack's defaults. MongoDB's
write concern is a client setting, so it goes to the adapter, not the server.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from sandbox.errors import UsageError
from sandbox.stack.native import Durability

ON_OFF = {"on": True, "off": False, "yes": True, "no": False, "true": True, "false": False}
KEYS: dict[str, tuple[str, dict[str, bool] | dict[str, str]]] = {
    "postgres.fsync": ("postgres_fsync", ON_OFF),
    "postgres.synchronous_commit": ("postgres_synchronous_commit",
                                    {v: v for v in ("on", "off", "local", "remote_write", "remote_apply")}),
    "redis.appendonly": ("redis_appendonly", ON_OFF),
    "redis.appendfsync": ("redis_appendfsync", {v: v for v in ("always", "everysec", "no")}),
    "mongo.sync_on_commit": ("mongo_sync_on_commit", ON_OFF),
}
MONGO_WRITE_CONCERNS = ("default", "w1", "w1j", "majority", "majorityj")


@dataclass(frozen=True)
class Profile:
    name: str  # as given, e.g. "default" or "redis.appendonly=no"
    durability: Durability
    mongo_write_concern: str = "default"

    def describe(self, store: str) -> str:
        text = self.durability.describe(store)
        return text + (f", write concern {self.mongo_write_concern}" if store == "mongo" else "")

    def stores_changed(self) -> set[str]:
        base = Durability()
        changed = {key.split(".")[0] for key, (attr, _) in KEYS.items()
                   if getattr(self.durability, attr) != getattr(base, attr)}
        return changed | ({"mongo"} if self.mongo_write_concern != "default" else set())


def parse_profile(text: str) -> Profile:
    text = text.strip()
    durability, concern = Durability(), "default"
    if text in ("", "default"):
        return Profile("default", durability, concern)
    for part in text.split(","):
        key, sep, value = (s.strip() for s in part.partition("="))
        if not sep:
            raise UsageError(f"durability {part!r}: expected store.setting=value, e.g. redis.appendonly=no")
        if key == "mongo.write_concern":
            if value not in MONGO_WRITE_CONCERNS:
                raise UsageError(f"durability {key}: expected one of {', '.join(MONGO_WRITE_CONCERNS)}, "
                                 f"got {value!r}")
            concern = value
            continue
        if key not in KEYS:
            known = ", ".join([*KEYS, "mongo.write_concern"])
            raise UsageError(f"durability: unknown setting {key!r}; settings: {known} (elastic and influx "
                             "have none on the native backend)")
        attr, allowed = KEYS[key]
        if value.lower() not in allowed:
            raise UsageError(f"durability {key}: expected one of {', '.join(allowed)}, got {value!r}")
        changes: dict[str, Any] = {attr: allowed[value.lower()]}
        durability = replace(durability, **changes)
    return Profile(text, durability, concern)


def parse_profiles(raw: object) -> list[Profile]:
    """A list of profile strings, or one string with profiles separated by `|` (handy on a command line)."""
    if isinstance(raw, str):
        raw = raw.split("|")
    if not isinstance(raw, list) or not raw or not all(isinstance(p, str) for p in raw):
        raise UsageError("durability: expected profiles like \"default|redis.appendonly=no\" or a list of strings")
    return [parse_profile(p) for p in raw]
