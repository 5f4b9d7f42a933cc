"""Asking Elasticsearch where a routing value goes: an index with N primary shards and `_search_shards`.

Plain JSON over HTTP (aiohttp) on the product's documented API: the index is the run's namespace,
created here and deleted here only.
"""

from __future__ import annotations

from typing import Any

import aiohttp

from sandbox.errors import UsageError

JSON = {"content-type": "application/json", "accept": "application/json"}


class RoutingProbe:
    def __init__(self, url: str, index: str, shards: int):
        self.url = url.rstrip("/")
        self.index = index
        self.shards = shards
        self._created = False

    async def connect(self) -> str:
        self.http = aiohttp.ClientSession(headers=JSON, timeout=aiohttp.ClientTimeout(total=30))
        async with self.http.get(self.url) as resp:
            info: dict[str, Any] = await resp.json()
        version = info.get("version", {})
        return f"{version.get('distribution', 'elasticsearch')} {version.get('number', '?')}"

    async def create(self) -> None:
        async with self.http.head(f"{self.url}/{self.index}") as resp:
            if resp.status == 200:
                raise UsageError(f"index {self.index} already exists; choose another run id")
        body = {"settings": {"number_of_shards": self.shards, "number_of_replicas": 0}}
        async with self.http.put(f"{self.url}/{self.index}", json=body) as resp:
            if resp.status != 200:
                raise UsageError(f"creating index {self.index} failed: HTTP {resp.status} {await resp.text()}"[:300])
        self._created = True

    async def shard_of(self, routing: str) -> int:
        async with self.http.get(f"{self.url}/{self.index}/_search_shards", params={"routing": routing}) as resp:
            answer = await resp.json()
        return int(answer["shards"][0][0]["shard"])

    async def drop(self) -> None:
        if self._created:
            async with self.http.delete(f"{self.url}/{self.index}"):
                self._created = False

    async def close(self) -> None:
        if hasattr(self, "http"):
            await self.http.close()
