"""Where orders are written: one folder per store (adapter + StoreKind), behind sandbox.stores.base.Store."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sandbox.config import Settings, endpoint
from sandbox.stores.base import Store
from sandbox.stores.registry import registry_of


def make_store(settings: Settings, name: str, namespace: str, connections: int = 8,
               options: Mapping[str, Any] | None = None, **extra: Any) -> Store:
    """An adapter for one configured store; `options` are the run's store options (`redis.client` -> value,
    each kind takes its own), `extra` its Options fields set directly (durability client knobs)."""
    kind = registry_of(settings).kind(name)
    return kind.make(endpoint(settings, name), namespace, kind.options_for(connections, options, **extra))
