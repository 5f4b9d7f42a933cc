"""Elasticsearch's namespace marker: a `_sandbox_marker` entry in the `_meta` of every index of the run
(one namespace may be several indices: the marker lists them, so gc drops those and never a pattern)."""

from __future__ import annotations

from typing import Any

from sandbox.stores.markers import MARKER, PREFIX, Found, Marker


class ElasticMarkers:
    async def mark(self, store: Any, marker: Marker) -> None:
        for index in store.indices:
            await store.es.indices.put_mapping(index=index, meta={MARKER: marker.fields()})

    async def find(self, store: Any) -> Found:
        mappings = (await store.es.indices.get_mapping(index=f"{PREFIX}*")).body
        by_namespace: dict[str, tuple[dict[str, Any], list[str]]] = {}
        unmarked = []
        for index, body in sorted(mappings.items()):
            fields = body.get("mappings", {}).get("_meta", {}).get(MARKER)
            if fields:
                by_namespace.setdefault(fields["namespace"], (fields, []))[1].append(index)
            else:
                unmarked.append(index)
        return Found([Marker.from_fields(f, tuple(ix)) for f, ix in by_namespace.values()], unmarked)

    async def drop(self, store: Any, marker: Marker) -> None:
        for index in marker.objects:  # the marked indices only, never a pattern
            await store.es.options(ignore_status=404).indices.delete(index=index)
