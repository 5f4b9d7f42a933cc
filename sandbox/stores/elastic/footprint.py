"""Elasticsearch's footprint of a run's indices: `GET <index>/_stats/store,translog` per index (primaries'
store size: the segments on disk; translog size: the log). The osmem stand-in (in memory) may answer without a
store section: then the reading says so, never zero."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sandbox.stores.contract import FootprintReading

SOURCE = "GET <index>/_stats store, translog, docs (primaries)"


async def footprint(es: Any, indices: Iterable[str]) -> FootprintReading:
    data, detail, missing = 0, {}, []
    log: int | None = 0
    no_log: list[str] = []
    for index in indices:
        try:
            doc = (await es.indices.stats(index=index, metric="store,translog,docs")).body
        except Exception as exc:
            missing.append(f"_stats {index}: {type(exc).__name__}: {exc}"[:200])
            continue
        primaries = (doc.get("indices", {}).get(index) or {}).get("primaries") or {}
        size = (primaries.get("store") or {}).get("size_in_bytes")
        if not isinstance(size, int):
            missing.append(f"_stats {index}: no store.size_in_bytes in the answer (this server does not report it)")
            continue
        data += size
        detail[f"{index}.store"] = size
        translog = primaries.get("translog") or {}
        docs = (primaries.get("docs") or {}).get("count") or 0
        if not isinstance(translog.get("size_in_bytes"), int) or (docs and not translog.get("operations")):
            # an index holding documents whose translog saw no operation has no translog (the in-memory
            # stand-in answers a placeholder 0): not a measured zero
            no_log.append(f"translog {index}: {docs} documents but 0 translog operations reported (no translog "
                          "on this server)")
        elif log is not None:
            log += translog["size_in_bytes"]
    if missing:
        return FootprintReading(SOURCE, None, None, unavailable=tuple(missing))
    # Lucene's inverted indexes live inside the segments: there is no per-index-structure size to give.
    return FootprintReading(SOURCE, data, {}, None if no_log else log, log_scope="the run's indices",
                            detail=detail, unavailable=tuple(no_log))
