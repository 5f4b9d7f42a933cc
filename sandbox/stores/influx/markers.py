"""InfluxDB's namespace marker: a `_sandbox_marker` measurement (one point) in the run's database."""

from __future__ import annotations

from typing import Any

from sandbox.errors import SandboxError
from sandbox.stores.influx.http import run_influxql
from sandbox.stores.markers import MARKER, PREFIX, Found, Marker


class InfluxMarkers:
    async def mark(self, store: Any, marker: Marker) -> None:
        fields = ",".join(f'{k}="{_line_string(v)}"' for k, v in marker.fields().items())
        async with store.session.post("/write", params={"db": marker.namespace, "precision": "ms"},
                                      data=f"{MARKER} {fields}".encode()) as resp:
            if resp.status != 204:
                raise SandboxError(f"InfluxDB marker write failed ({resp.status}): {(await resp.text())[:200]}")

    async def find(self, store: Any) -> Found:
        found = Found([], [])
        databases = await run_influxql(store.session, "SHOW DATABASES")
        for name in sorted(v[0] for s in databases for v in s.get("values", [])):
            if not name.startswith(PREFIX):
                continue
            series = await run_influxql(store.session, f"SELECT * FROM {MARKER} LIMIT 1", db=name)
            if series:
                found.marked.append(Marker.from_fields(dict(zip(series[0]["columns"], series[0]["values"][0],
                                                                strict=True))))
            else:
                found.unmarked.append(name)
        return found

    async def drop(self, store: Any, marker: Marker) -> None:
        async with store.session.get("/ping") as resp:
            major = resp.headers.get("X-Influxdb-Version", "1").lstrip("v")[:1]
        if major == "1":
            await run_influxql(store.session, f'DROP DATABASE "{marker.namespace}"', post=True)
            return
        async with store.session.get("/api/v2/buckets", params={"name": marker.namespace}) as resp:
            buckets = (await resp.json()).get("buckets", [])
        for bucket in buckets:
            async with store.session.delete(f"/api/v2/buckets/{bucket['id']}") as resp:
                resp.raise_for_status()


def _line_string(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')
