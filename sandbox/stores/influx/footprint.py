"""InfluxDB's footprint of a run's database: its shards' files on disk where this machine can read the shard
paths the server reports (the native stack's own data dir), else what SHOW STATS says (tsm1_filestore
diskBytes, tsm1_wal current + old segment bytes), else that neither answered. Points sit in the WAL (and the
cache) until a snapshot writes them to TSM files, so the WAL holds data here (`log_holds_data`)."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from sandbox.stores.contract import FootprintReading

Query = Callable[[str], Awaitable[list[dict[str, Any]]]]
STATS = "SHOW STATS tsm1_filestore diskBytes, tsm1_wal segment bytes (the run's database)"
DISK = "shard files on disk (TSM and WAL under the paths SHOW STATS gives for the run's database)"


def _tree_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


async def footprint(query: Query, database: str) -> FootprintReading:
    try:
        series = await query("SHOW STATS")
    except Exception as exc:
        return FootprintReading(STATS, None, None, unavailable=(f"SHOW STATS: {type(exc).__name__}: {exc}"[:200],))
    tsm, wal = 0, 0
    paths: dict[str, list[str]] = {"tsm": [], "wal": []}
    found = False
    for s in series:
        tags, name = s.get("tags") or {}, s.get("name")
        if tags.get("database") != database or name not in ("tsm1_filestore", "tsm1_wal"):
            continue
        found = True
        row = dict(zip(s.get("columns", []), (s.get("values") or [[]])[0], strict=False))
        if name == "tsm1_filestore":
            tsm += int(row.get("diskBytes") or 0)
            paths["tsm"].append(tags.get("path", ""))
        else:
            wal += int(row.get("currentSegmentDiskBytes") or 0) + int(row.get("oldSegmentsDiskBytes") or 0)
            paths["wal"].append(tags.get("walPath", ""))  # its `path` tag is the shard's data dir
    if not found:
        return FootprintReading(STATS, None, None,
                                unavailable=(f"SHOW STATS: no shard of database {database} (nothing written yet, "
                                             "or a server without SHOW STATS)",))
    local = [Path(p) for p in paths["tsm"] + paths["wal"]]
    if local and all(p.is_dir() and os.access(p, os.R_OK) for p in local):
        tsm = sum(_tree_bytes(Path(p)) for p in paths["tsm"])
        wal = sum(_tree_bytes(Path(p)) for p in paths["wal"])
        return FootprintReading(DISK, tsm, {}, wal, log_scope="the run's database", log_holds_data=True,
                                detail={"shards": len(paths["tsm"])})
    return FootprintReading(STATS, tsm, {}, wal, log_scope="the run's database", log_holds_data=True,
                            detail={"shards": len(paths["tsm"])})
