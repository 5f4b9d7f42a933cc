"""MongoDB's own statistics: serverStatus (opcounters, WiredTiger cache) and dbStats of the run's database.
opcounters are server-wide; the stand-in (SecantusDB) answers what it implements, the rest is listed as
unavailable."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sandbox.stores.server_stats import ServerStats, flatten

HEADLINE = ("opcounters.insert", "opcounters.query", "opcounters.command", "dbStats.objects",
            "wiredTiger.cache.bytes currently in the cache")
DATA_OPS = ("insert", "query", "update", "delete", "getmore")
CACHE = ("bytes currently in the cache", "maximum bytes configured", "pages read into cache",
         "pages written from cache", "tracked dirty bytes in the cache")


async def snapshot(client: Any, namespace: str) -> ServerStats:
    stats = ServerStats("serverStatus (opcounters, wiredTiger.cache), dbStats", writes_counter="opcounters.insert",
                        writes_note="documents inserted, server-wide",
                        headline=HEADLINE, calls_counter="opcounters.data_ops",
                        calls_scope="insert + query + update + delete + getmore opcounters of every client of this "
                                    "server (commands left out: the driver's hello and the sandbox's serverStatus "
                                    "count there; MongoDB's insert counts documents, the stand-in's one per request)")
    status = await client.admin.command("serverStatus")
    if isinstance(status.get("uptime"), int | float) and isinstance(status.get("localTime"), datetime):
        # opcounters start from zero with each server process
        started = status["localTime"].replace(tzinfo=UTC).timestamp() - float(status["uptime"])
        stats.started = datetime.fromtimestamp(started, UTC).isoformat(timespec="seconds")
        stats.life = f"pid {status.get('pid')}"  # uptime is whole seconds: a start time from it jitters
    if "opcounters" in status:
        flatten("opcounters", status["opcounters"], stats.counters)
        stats.counters["opcounters.data_ops"] = sum(stats.counters.get(f"opcounters.{k}", 0.0) for k in DATA_OPS)
    else:
        stats.unavailable.append("serverStatus.opcounters: not reported by this server")
    cache = status.get("wiredTiger", {}).get("cache")
    if cache:
        stats.gauges.update({f"wiredTiger.cache.{k}": cache[k] for k in CACHE if k in cache})
    else:
        stats.unavailable.append("serverStatus.wiredTiger.cache: not reported by this server")
    try:
        db = await client[namespace].command("dbStats")
        stats.gauges.update({f"dbStats.{k}": db[k] for k in ("collections", "objects", "dataSize", "storageSize",
                                                             "indexes", "indexSize") if k in db})
    except Exception as exc:  # the stand-in may not implement it
        stats.unavailable.append(f"dbStats: {type(exc).__name__}: {exc}"[:160])
    return stats
