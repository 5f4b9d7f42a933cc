"""Redis's namespace marker: a hash `<prefix>:_sandbox_marker` under the run's key prefix."""

from __future__ import annotations

from typing import Any

from sandbox.stores.markers import MARKER, PREFIX, Found, Marker
from sandbox.stores.redis.keys import unlink_prefix


class RedisMarkers:
    async def mark(self, store: Any, marker: Marker) -> None:
        key, fields = f"{marker.namespace}:{MARKER}", marker.fields()
        if hasattr(store.client, "custom_command"):  # valkey-glide: hset(key, {field: value})
            await store.client.hset(key, fields)
        else:
            await store.client.hset(key, mapping=fields)

    async def find(self, store: Any) -> Found:
        marked, prefixes = [], set()
        async for key in store.client.scan_iter(match=f"{PREFIX}*", count=1000):
            namespace, _, rest = key.partition(":")
            prefixes.add(namespace)
            if rest == MARKER:
                marked.append(Marker.from_fields(await store.client.hgetall(key)))
        return Found(marked, sorted(prefixes - {m.namespace for m in marked}))

    async def drop(self, store: Any, marker: Marker) -> None:
        await unlink_prefix(store.client, marker.namespace)
