"""Where orders are written: one folder per store (adapter + StoreKind), behind sandbox.stores.base.Store."""

from __future__ import annotations

from typing import Any

from sandbox.config import Settings, endpoint
from sandbox.stores.base import Store
from sandbox.stores.registry import registry_of


def make_store(settings: Settings, name: str, namespace: str, connections: int = 8, **knobs: Any) -> Store:
    """An adapter for one configured store; knobs (es_refresh, redis_ttl_s, ...) go to the kinds that take them."""
    kind = registry_of(settings).kind(name)
    return kind.make(endpoint(settings, name), namespace, kind.options_for(connections, **knobs))
