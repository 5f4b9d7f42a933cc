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
    counted = {r.bench.split(", ")[1].split(":")[0]: r.sandbox.calls_median for r in rows}
    assert counted["postgres"] == 1.0 and counted["influx"] == 1.0, counted  # one statement / request per batch
