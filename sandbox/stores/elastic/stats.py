"""Elasticsearch's own statistics: the run's index `_stats` (indexing, refresh, merges, search, docs) and
`_nodes/stats` (JVM heap, indexing pressure). The stand-in (osmem) answers a subset; missing sections are
listed as unavailable."""

from __future__ import annotations

from typing import Any

from sandbox.stores.server_stats import ServerStats, flatten

HEADLINE = ("index.indexing.index_total", "index.refresh.total", "index.merges.total", "index.docs.count")
SECTIONS = ("indexing", "refresh", "merges", "search", "docs", "flush", "store")


async def snapshot(es: Any, index: str) -> ServerStats:
    stats = ServerStats("GET <index>/_stats, GET _nodes/stats", writes_counter="index.indexing.index_total",
                        writes_note=f"documents indexed into {index}",
                        headline=HEADLINE)
    try:
        doc = (await es.options(ignore_status=404).indices.stats(index=index)).body
        total = doc.get("indices", {}).get(index, {}).get("total") or doc.get("_all", {}).get("total", {})
        if "error" in doc:
            stats.unavailable.append(f"_stats: no index {index} (yet)")
        for section in SECTIONS if "error" not in doc else ():
            if section in total:
                flatten(f"index.{section}", total[section], stats.counters)
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
    return stats
