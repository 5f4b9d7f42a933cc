"""The index-cost step on the real PostgreSQL: the playbook's index-usage check (pg_stat_user_indexes) lists an
index no query of the run scanned and not the one the run's pattern queries use, each pattern is timed with and
without its index, and the dropped index is built again. On MongoDB the same ($indexStats), or, where the server
keeps no count (the stand-in), no index called unused."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from sandbox.experiments.footprint.index_cost import measure_store
from sandbox.stores.contract import IndexCost
from sandbox.workload.dataset import Dataset, Sizes
from tests.helpers import model as shipped


@pytest.mark.parametrize("store", ["postgres", "postgres:jsonb", "mongo"])
async def test_an_index_the_queries_use_is_not_listed_unused_and_one_they_never_use_is(store: str,
                                                                                       open_model_store) -> None:
    s = await open_model_store(store)
    assert isinstance(s, IndexCost)
    roots = 600 if store.startswith("postgres") else 300  # the stand-in scans every document without an index
    data = Dataset(shipped(), 5, Sizes(roots))
    await s.prepare(data)
    await s.write_batch(list(data.roots(0, roots)))
    # An index no access pattern's query can use: nothing the run sends compares md5 of the key (PostgreSQL) or
    # a field no document has (MongoDB).
    if store.startswith("postgres"):
        never = "never_used_md5"
        await s.pool.execute(f"CREATE INDEX {never} ON {s.layout.table_name(data.model.root)} (md5(id::text))")
    else:
        coll = s.collection(data.model.root)
        await coll.create_index([("no_such_field", 1)], name="never_used")
        never = f"{coll.name}.never_used"
    if store.startswith("postgres"):  # planner statistics now: the choice of plan does not wait on autovacuum
        await s.pool.execute(f"ANALYZE {s.layout.table_name(data.model.root)}")
    served = s.pattern_indexes()
    # A customer's latest orders: a few rows of 600, which the planner reads through the index (a pattern on
    # a column of few values, such as orders by status, may be answered by a sequential scan instead: the
    # footprint run at 30,000 orders lists that index as unused).
    [by_customer] = [i for i, patterns in served.items() if "latest_orders" in patterns]
    ctx = SimpleNamespace(dataset=data, model=data.model, params=SimpleNamespace(seed=3))
    found = await measure_store(ctx, s, roots, 20, 1.0)  # type: ignore[arg-type]  # the step reads only these

    row = next(x for x in found["indexes"] if x["index"] == by_customer)
    if row["scans"] is None:  # a server that keeps no count (the MongoDB stand-in): nothing is called unused
        assert by_customer in found["uncounted"] and never in found["uncounted"] and found["unused"] == []
    else:
        assert never in found["unused"], found["unused"]
        assert by_customer not in found["unused"] and row["scans"] >= 20
    assert row["bytes"] > 0 and not row["enforces"]
    timed = row["patterns"]["latest_orders"]
    assert all(1 <= timed[c]["queries"] <= 20 for c in ("with_ms", "without_ms"))  # a 1 s budget each
    assert 0 < timed["with_ms"]["p50"] <= timed["with_ms"]["p99"]
    assert 0 < timed["without_ms"]["p50"] <= timed["without_ms"]["p99"]
    # every dropped index is there again, as the design declares it
    again = {u.name for u in await s.index_usage()}
    assert set(served) <= again and row["rebuild_s"] is not None
