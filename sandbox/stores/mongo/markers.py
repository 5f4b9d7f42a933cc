"""MongoDB's namespace marker: a `_sandbox_marker` collection (one document) in the run's database."""

from __future__ import annotations

from typing import Any

from sandbox.stores.markers import MARKER, PREFIX, Found, Marker


class MongoMarkers:
    async def mark(self, store: Any, marker: Marker) -> None:
        await store.client[marker.namespace][MARKER].insert_one(marker.fields())

    async def find(self, store: Any) -> Found:
        found = Found([], [])
        for name in sorted(await store.client.list_database_names()):
            if not name.startswith(PREFIX):
                continue
            doc = await store.client[name][MARKER].find_one({}, {"_id": 0})
            if doc:
                found.marked.append(Marker.from_fields(doc))
            else:
                found.unmarked.append(name)
        return found

    async def drop(self, store: Any, marker: Marker) -> None:
        await store.client.drop_database(marker.namespace)
