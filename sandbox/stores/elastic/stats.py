"""Elasticsearch's own statistics: the run's index `_stats` (indexing, refresh, merges, search, docs) and
`_nodes/stats` (JVM heap, indexing pressure). The stand-in (osmem) answers a subset; missing sections are
listed as unavailable."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sandbox.stores.server_stats import ServerStats, flatten

HEADLINE = ("index.indexing.index_total", "index.refresh.total", "index.merges.total", "index.docs.count")
SECTIONS = ("indexing", "refresh", "merges", "search", "docs", "flush", "store")


async def snapshot(es: Any, index: str) -> ServerStats:
    stats = ServerStats("GET <index>/_stats, GET _nodes/stats", writes_counter="index.indexing.index_total",
                        writes_note=f"documents indexed into {index}",
                        headline=HEADLINE,
                        calls_scope="not counted: the sandbox reads no per-request counter from this server "
                                    "(index_total counts documents indexed, not requests)")
    try:
        doc = (await es.options(ignore_status=404).indices.stats(index=index)).body
        total = doc.get("indices", {}).get(index, {}).get("total") or doc.get("_all", {}).get("total", {})
        if "error" in doc:
            stats.unavailable.append(f"_stats: no index {index} (yet)")
        for section in SECTIONS if "error" not in doc else ():
            if section in total:
                for key, value in flatten(f"index.{section}", total[section], {}).items():
                    # totals and times only go up; counts, sizes and "current" go down too (merges, deletes)
                    last = key.rsplit(".", 1)[-1]
                    (stats.counters if "total" in last or last.endswith("_in_millis") else stats.gauges)[key] = value
            else:
                stats.unavailable.append(f"_stats {section}: not reported by this server")
    except Exception as exc:
        stats.unavailable.append(f"_stats: {type(exc).__name__}: {exc}"[:160])
    try:
        nodes = (await es.nodes.stats()).body.get("nodes", {})
        for node_id, node in nodes.items():
            jvm = node.get("jvm", {}).get("mem", {})
            stats.gauges.update({f"node.{node_id[:8]}.jvm.{k}": v for k, v in jvm.items() if isinstance(v, int)})
        if not any(n.get("jvm") for n in nodes.values()):
            stats.unavailable.append("_nodes/stats jvm: not reported by this server")
    except Exception as exc:
        stats.unavailable.append(f"_nodes/stats: {type(exc).__name__}: {exc}"[:160])
    await _life(es, stats)
    return stats


async def _life(es: Any, stats: ServerStats) -> None:
    """The nodes' JVM start times: the counters start again with them (the stand-in reports none)."""
    try:
        nodes = (await es.nodes.info(metric="jvm")).body.get("nodes", {})
    except Exception as exc:
        stats.unavailable.append(f"_nodes/jvm: {type(exc).__name__}: {exc}"[:160])
        return
    starts = sorted(str(n["jvm"]["start_time_in_millis"]) for n in nodes.values()
                    if isinstance(n.get("jvm"), dict) and "start_time_in_millis" in n["jvm"])
    if starts:
        stats.life = "jvm started " + ",".join(starts)
        stats.started = datetime.fromtimestamp(int(starts[-1]) / 1000, UTC).isoformat(timespec="seconds")
    else:
        stats.unavailable.append("_nodes jvm start time: not reported by this server (a restart shows only as "
                                 "counters going back)")
