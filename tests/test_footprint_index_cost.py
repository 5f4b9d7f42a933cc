"""The index-cost step on the real PostgreSQL: the playbook's index-usage check (pg_stat_user_indexes) lists an
index no query of the run scanned and not the one the run's pattern queries use, each pattern is timed with and
without its index, and the dropped index is built again."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from sandbox.experiments.footprint.index_cost import measure_store
from sandbox.stores.contract import IndexCost
from sandbox.workload.dataset import Dataset, Sizes
from tests.helpers import model as shipped


@pytest.mark.stores("postgres")
@pytest.mark.parametrize("store", ["postgres", "postgres:jsonb"])
async def test_an_index_the_queries_use_is_not_listed_unused_and_one_they_never_use_is(store: str,
                                                                                       open_model_store) -> None:
    s = await open_model_store(store)
    assert isinstance(s, IndexCost)
    data = Dataset(shipped(), 5, Sizes(1500))
    await s.prepare(data)
    await s.write_batch(list(data.roots(0, 1500)))
    orders = s.layout.table_name(data.model.root)
    # An index no access pattern's query can use: nothing the run sends compares md5 of the key.
    await s.pool.execute(f"CREATE INDEX never_used_md5 ON {orders} (md5(id::text))")
    served = s.pattern_indexes()
    [by_status] = [i for i, patterns in served.items() if "orders_by_status" in patterns]
    ctx = SimpleNamespace(dataset=data, model=data.model, params=SimpleNamespace(seed=3))
    found = await measure_store(ctx, s, 1500, 20)  # type: ignore[arg-type]  # the step reads only these

    assert "never_used_md5" in found["unused"], found["unused"]
    assert by_status not in found["unused"]
    row = next(x for x in found["indexes"] if x["index"] == by_status)
    assert row["scans"] >= 20 and row["bytes"] > 0 and not row["enforces"]
    timed = row["patterns"]["orders_by_status"]
    assert timed["with_ms"]["queries"] == timed["without_ms"]["queries"] == 20
    assert 0 < timed["with_ms"]["p50"] <= timed["with_ms"]["p99"]
    assert 0 < timed["without_ms"]["p50"] <= timed["without_ms"]["p99"]
    # every dropped index is there again, as the design declares it
    names = {r["indexname"] for r in await s.pool.fetch("SELECT indexname FROM pg_indexes WHERE schemaname = $1",
                                                        s.namespace)}
    assert set(served) <= names and row["rebuild_s"] is not None
