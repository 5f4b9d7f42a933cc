"""PostgreSQL's TOAST compression as a design variant (postgres:jsonb_lz4): the document column is declared lz4,
and the footprint counts the column's values by how the server stored them, which adds up to the table's rows."""

from __future__ import annotations

import pytest

from sandbox.workload.dataset import Dataset, Sizes
from tests.helpers import model as shipped


@pytest.mark.stores("postgres")
@pytest.mark.parametrize(("store", "declared"), [("postgres:jsonb", ""), ("postgres:jsonb_lz4", "l")])
async def test_the_variant_declares_lz4_and_the_footprint_counts_values_by_method(store: str, declared: str,
                                                                                   open_model_store) -> None:
    s = await open_model_store(store)
    data = Dataset(shipped(), 9, Sizes(300))
    await s.prepare(data)
    await s.write_batch(list(data.roots(0, 300)))
    root = s.layout.table_name(data.model.root)
    how = await s.pool.fetchval("SELECT attcompression FROM pg_attribute WHERE attrelid = $1::regclass "
                                "AND attname = 'doc'", root)
    how = how.decode().strip("\x00")  # a "char" column comes back as bytes, NUL where none is declared
    assert how == declared
    detail = (await s.footprint()).detail
    plain = root.rpartition(".")[2].strip('"')
    counted = {k.rpartition("compressed_")[2]: v for k, v in detail.items() if k.startswith(f"{plain}.doc.")}
    assert sum(counted.values()) == await s.pool.fetchval(f"SELECT count(*) FROM {root}") == 300
    assert set(counted) <= {"none", "lz4" if declared else "pglz"}, counted  # never the other method
