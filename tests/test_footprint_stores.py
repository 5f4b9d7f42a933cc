"""Each store's footprint reading (contract.Footprint, stores/<name>/footprint.py) on the real servers: it
grows with the data, PostgreSQL's agrees with the relation files on disk, and a figure a stand-in cannot give
is None with its reason, never a zero."""

from __future__ import annotations

import os
from pathlib import Path

import asyncpg
import pytest

from sandbox.stores.contract import Footprint, FootprintReading
from sandbox.workload.dataset import Dataset, Sizes
from tests.helpers import admin_url
from tests.helpers import model as shipped

STORES = ["postgres", "postgres:jsonb", "mongo", "redis", "elastic", "influx"]


def _dataset() -> Dataset:
    return Dataset(shipped(), 7, Sizes(400))


@pytest.mark.parametrize("store", STORES)
async def test_footprint_grows_with_the_data_or_says_why_not(store: str, open_model_store) -> None:
    s = await open_model_store(store)
    assert isinstance(s, Footprint)
    data = _dataset()
    await s.prepare(data)
    await s.write_batch(list(data.roots(0, 400)))
    after: FootprintReading = await s.footprint()
    assert after.source
    if after.held_bytes is None:  # a figure the server does not give is said, never a silent zero
        assert after.unavailable and after.data_bytes is None
        return
    assert after.held_bytes > 400 * 20, after.to_json()  # at least tens of bytes per order and its items
    for figure, value in (("data", after.data_bytes), ("log", after.log_bytes)):
        assert value is None or value >= 0, figure
    if after.log_bytes is None:
        assert any("log" in why or "translog" in why for why in after.unavailable)


async def test_the_stand_in_without_a_translog_is_reported_as_such_not_zero(open_model_store) -> None:
    s = await open_model_store("elastic")
    server = await s.connect()
    if "osmem" not in str(server) and "emulator" not in str(server):
        pytest.skip(f"a real server answered ({server}): it has a translog")
    data = _dataset()
    await s.prepare(data)
    await s.write_batch(list(data.roots(0, 50)))
    reading = await s.footprint()
    assert reading.log_bytes is None
    assert reading.unavailable and "translog" in reading.unavailable[0] and "0 translog operations" in \
        reading.unavailable[0]


def _files_bytes(data_dir: Path, relative: str) -> int:
    """The relation's files as the disk has them: every segment (`.1`, `.2`, ...) and fork (`_fsm`, `_vm`)."""
    base = data_dir / relative
    return sum(f.stat().st_size for f in base.parent.iterdir()
               if f.name == base.name or f.name.startswith((base.name + ".", base.name + "_")))


@pytest.mark.parametrize("store", ["postgres", "postgres:jsonb"])
async def test_postgres_bytes_agree_with_the_relation_files_on_disk(store: str, open_model_store, live) -> None:
    s = await open_model_store(store)
    data = _dataset()
    await s.prepare(data)
    await s.write_batch(list(data.roots(0, 400)))
    reading = await s.footprint()
    admin = await asyncpg.connect(admin_url(live, "postgres"))  # the run's login may not see or checkpoint it
    try:
        data_dir = Path(await admin.fetchval("SHOW data_directory"))
        if not os.access(data_dir, os.R_OK | os.X_OK):
            pytest.skip(f"the data directory {data_dir} is not readable here: no independent measurement")
        await admin.execute("CHECKPOINT")
    finally:
        await admin.close()
    rows = await s.pool.fetch(
        "SELECT pg_relation_filepath(c.oid) AS path FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = $1 AND c.relkind IN ('r', 'i', 'm') UNION ALL "
        "SELECT pg_relation_filepath(t.oid) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "JOIN pg_class t ON t.oid = c.reltoastrelid WHERE n.nspname = $1 UNION ALL "
        "SELECT pg_relation_filepath(i.indexrelid) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "JOIN pg_index i ON i.indrelid = c.reltoastrelid WHERE n.nspname = $1", s.namespace)
    on_disk = sum(_files_bytes(data_dir, r["path"]) for r in rows if r["path"])
    assert reading.held_bytes is not None
    assert abs(reading.held_bytes - on_disk) <= 0.10 * on_disk, (reading.held_bytes, on_disk)
