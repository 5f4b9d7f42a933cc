"""Elasticsearch's background work: segment merges (`_stats` merges.current while they run, merges.total for the
ones between two samples), refreshes and flushes (their totals), over every index of the node. The stand-in
(osmem) reports none of them: then the probe says so, and its lane stays empty for that reason."""

from __future__ import annotations

import time
from typing import Any

import aiohttp

from sandbox.config import Endpoint
from sandbox.stores.background import Activity, went_up
from sandbox.stores.tls import https_context

SECTIONS = {"merges": "merge", "refresh": "refresh", "flush": "flush"}
PLURAL = {"merges": "merges", "refresh": "refreshes", "flush": "flushes"}


class ElasticBackground:
    sees = tuple(SECTIONS.values())

    def __init__(self, session: aiohttp.ClientSession):
        self.session = session
        self.before: dict[str, float] | None = None
        self.blind: tuple[str, ...] = ()

    async def sample(self) -> list[Activity]:
        async with self.session.get("/_stats/merge,refresh,flush") as resp:
            doc: dict[str, Any] = await resp.json(content_type=None) if resp.status == 200 else {}
        total = (doc.get("_all") or {}).get("total") or {}
        missing = [s for s in SECTIONS if s not in total]
        if missing:  # osmem: "_all": {"total": {}}
            self.blind = (f"{', '.join(PLURAL[s] for s in missing)}: not reported by this server (_stats)",)
        out = []
        merges = total.get("merges") or {}
        if merges.get("current"):
            out.append(Activity("merge", f"{merges['current']} running, {merges.get('current_docs', '?')} docs"))
        now = {s: float((total.get(s) or {}).get("total", 0)) for s in SECTIONS if s in total}
        for section, n in went_up(now, self.before).items():
            if section != "merges" or not merges.get("current"):
                out.append(Activity(SECTIONS[section], f"{int(n)} since the last sample", end=time.time()))
        self.before = now
        return out

    async def close(self) -> None:
        await self.session.close()


async def open_probe(endpoint: Endpoint) -> ElasticBackground:
    session = aiohttp.ClientSession(base_url=endpoint.url, timeout=aiohttp.ClientTimeout(total=5),
                                    headers={"Accept": "application/json"},
                                    connector=aiohttp.TCPConnector(ssl=https_context(endpoint) or True))
    try:
        async with session.get("/") as resp:
            resp.raise_for_status()
    except BaseException:
        await session.close()
        raise
    return ElasticBackground(session)
