"""InfluxDB's own statistics (1.x): SHOW STATS (write, httpd, shard, runtime counters) and SHOW DIAGNOSTICS
(build, uptime). 2.x and 3.x serve no SHOW STATS; then the snapshot says so."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sandbox.stores.server_stats import ServerStats

Query = Callable[[str], Awaitable[list[dict[str, Any]]]]  # InfluxQL -> the statement's series
HEADLINE = ("write.pointReq", "write.writeOk", "httpd.writeReq", "httpd.queryReq", "runtime.HeapInUse")
COUNTERS: dict[str, tuple[str, ...]] = {"write": ("pointReq", "writeOk", "writeError", "req"),
                                        "httpd": ("writeReq", "queryReq", "pointsWrittenOK"),
            "runtime": ("NumGC", "TotalAlloc")}
GAUGES: dict[str, tuple[str, ...]] = {"runtime": ("HeapInUse", "NumGoroutine")}


async def snapshot(query: Query, namespace: str) -> ServerStats:
    stats = ServerStats("SHOW STATS, SHOW DIAGNOSTICS", writes_counter="write.pointReq",
                        writes_note="points received, server-wide (one per order written)",
                        headline=HEADLINE, calls_counter="httpd.calls",
                        calls_scope="/write and /query requests of every client of this server (SHOW STATS: the "
                                    "sandbox's own SHOW STATS / SHOW DIAGNOSTICS, snapshots and sampler, included)")
    try:
        for series in await query("SHOW STATS"):
            name, tags = str(series.get("name")), series.get("tags") or {}
            row = dict(zip(series.get("columns", []), (series.get("values") or [[]])[0], strict=False))
            if name == "shard" and tags.get("database") == namespace:
                for k in ("writePointsOk", "writeReq"):
                    if k in row:
                        stats.counters[f"shard.{tags.get('id')}.{k}"] = float(row[k])
                if "diskBytes" in row:  # shrinks when a compaction finishes: not a counter
                    stats.gauges[f"shard.{tags.get('id')}.diskBytes"] = row["diskBytes"]
            for k in COUNTERS.get(name, ()):
                if k in row:
                    stats.counters[f"{name}.{k}"] = stats.counters.get(f"{name}.{k}", 0.0) + float(row[k])
            stats.gauges.update({f"{name}.{k}": row[k] for k in GAUGES.get(name, ()) if k in row})
    except Exception as exc:
        stats.unavailable.append(f"SHOW STATS: {type(exc).__name__}: {exc}"[:160])
    if "httpd.writeReq" in stats.counters:
        stats.counters["httpd.calls"] = stats.counters["httpd.writeReq"] + stats.counters.get("httpd.queryReq", 0.0)
    try:
        for series in await query("SHOW DIAGNOSTICS"):
            if series.get("name") in ("build", "system"):
                row = dict(zip(series.get("columns", []), (series.get("values") or [[]])[0], strict=False))
                stats.gauges.update({f"{series['name']}.{k}": v for k, v in row.items()})
                if series.get("name") == "system" and row.get("started"):  # SHOW STATS restart from zero with it
                    stats.life, stats.started = f"pid {row.get('PID')} started {row['started']}", str(row["started"])
    except Exception as exc:
        stats.unavailable.append(f"SHOW DIAGNOSTICS: {type(exc).__name__}: {exc}"[:160])
    return stats

