"""InfluxDB's background work (1.x): TSM compactions and cache snapshots per shard, from SHOW STATS' tsm1_engine
series: the *CompactionsActive gauges while one runs, the *Compactions counters for the ones that started and
ended between two samples. 2.x and 3.x serve no SHOW STATS; then the probe says it cannot see them."""

from __future__ import annotations

import time

import aiohttp

from sandbox.config import Endpoint
from sandbox.stores.background import Activity, went_up
from sandbox.stores.tls import https_context

KINDS = {"cache": "cache snapshot", "tsmLevel1": "compaction (level 1)", "tsmLevel2": "compaction (level 2)",
         "tsmLevel3": "compaction (level 3)", "tsmOptimize": "compaction (optimize)", "tsmFull": "compaction (full)"}


class InfluxBackground:
    sees = tuple(KINDS.values())

    def __init__(self, session: aiohttp.ClientSession):
        self.session = session
        self.before: dict[str, float] | None = None
        self.blind: tuple[str, ...] = ()

    async def sample(self) -> list[Activity]:
        async with self.session.get("/query", params={"q": "SHOW STATS"}) as resp:
            doc = await resp.json(content_type=None) if resp.status == 200 else {}
        series = ((doc.get("results") or [{}])[0]).get("series")
        if series is None:
            self.blind = ("compactions: SHOW STATS not served by this server (2.x/3.x)",)
            return []
        out, now = [], {}
        for s in series:
            if s.get("name") != "tsm1_engine":
                continue
            tags = s.get("tags") or {}
            shard = f"{tags.get('database')} shard {tags.get('id')}"
            row = dict(zip(s.get("columns", []), (s.get("values") or [[]])[0], strict=False))
            for prefix, what in KINDS.items():
                if row.get(f"{prefix}CompactionsActive"):
                    out.append(Activity(what, shard))
                now[f"{shard}|{prefix}"] = float(row.get(f"{prefix}Compactions", 0))
        running = {(a.what, a.detail) for a in out}
        for key, n in went_up(now, self.before).items():
            shard, prefix = key.split("|")
            if (KINDS[prefix], shard) not in running:
                out.append(Activity(KINDS[prefix], f"{shard}: {int(n)} started and ended", end=time.time()))
        self.before = now
        return out

    async def close(self) -> None:
        await self.session.close()


async def open_probe(endpoint: Endpoint) -> InfluxBackground:
    token = endpoint.settings.get("token")
    session = aiohttp.ClientSession(base_url=endpoint.url, timeout=aiohttp.ClientTimeout(total=5),
                                    headers={"Authorization": f"Token {token}"} if token else {},
                                    connector=aiohttp.TCPConnector(ssl=https_context(endpoint) or True))
    try:
        async with session.get("/ping") as resp:
            resp.raise_for_status()
    except BaseException:
        await session.close()
        raise
    return InfluxBackground(session)
