"""MongoDB's footprint of a run's database: `collStats` per collection (storageSize: the data's bytes on disk,
compressed by the block compressor; indexSizes by name). The journal has no per-database figure, so the log is
not reported. A server that does not answer collStats (the secantusdb stand-in may not) is said to, never
counted as zero."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sandbox.stores.contract import FootprintReading

SOURCE = "collStats per collection (storageSize, indexSizes)"
NO_JOURNAL = "log: the WiredTiger journal has no per-database figure in collStats"


async def footprint(client: Any, namespace: str, collections: Iterable[str]) -> FootprintReading:
    db = client[namespace]
    data, indexes, detail, missing = 0, {}, {}, []
    for name in collections:
        try:
            doc = await db.command("collStats", name)
        except Exception as exc:  # not implemented by the server: said, not guessed
            missing.append(f"collStats {name}: {type(exc).__name__}: {exc}"[:200])
            continue
        if not isinstance(doc.get("storageSize"), int | float) or not isinstance(doc.get("indexSizes"), dict):
            missing.append(f"collStats {name}: no storageSize / indexSizes in the answer")
            continue
        data += int(doc["storageSize"])
        detail[f"{name}.size_uncompressed"] = int(doc.get("size") or 0)
        indexes.update({f"{name}.{ix}": int(size) for ix, size in doc["indexSizes"].items()})
    if missing:
        return FootprintReading(SOURCE, None, None, unavailable=(*missing, NO_JOURNAL))
    return FootprintReading(SOURCE, data, indexes, None, detail=detail, unavailable=(NO_JOURNAL,))
