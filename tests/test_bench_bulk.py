"""bench/bulk_load.py: each store's native loader is fed from the model store's own rendering (tables and rows,
scripts and codecs, documents, line protocol), so a change to an adapter can break the bench's input. bench()
counts what each side left in the store through the adapter and stops when an order is missing; the calls
column is filled on the stores that count calls. Tiny sizes: nothing is timed here."""

from __future__ import annotations

from bench.bulk_load import bench
from bench.common import orders_data
from sandbox.config import Settings


async def test_every_bulk_side_writes_what_the_adapter_reads_back(live: Settings) -> None:
    rows = await bench(live, orders_data(4), 30, 20, ("postgres", "redis", "elastic", "influx"))
    assert [r.bench.split(", ")[1].split(":")[0] for r in rows] == ["postgres", "redis", "elastic", "influx"]
    for row in rows:
        assert row.native is not None and row.native.median and row.bare.median and row.sandbox.median, row
    calls = {r.bench.split(", ")[1].split(":")[0]: r for r in rows}
    for name, r in calls.items():  # the same write_batch on both sides: the same calls, where the server counts
        assert r.sandbox.calls == r.bare.calls, (name, r.sandbox.calls, r.bare.calls)
    assert calls["influx"].sandbox.calls_median == 1.0, calls["influx"].sandbox.calls  # one /write per batch
    pg = calls["postgres"]  # one statement per batch (+ asyncpg's first-use introspection) vs BEGIN, 2 COPYs, COMMIT
    assert pg.sandbox.calls_median is not None and pg.native is not None and pg.native.calls_median is not None
    assert 1.0 <= pg.sandbox.calls_median < pg.native.calls_median, (pg.sandbox.calls, pg.native.calls)
    assert calls["elastic"].sandbox.calls == [], "the stand-in counts no calls: the column must say so with '-'"
