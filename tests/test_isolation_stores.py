"""The isolation workload against real servers: the controls of issue 27. PostgreSQL's READ COMMITTED loses
updates on read-modify-write (found as lost-update and a cycle), SERIALIZABLE shows none and counts its
serialization failures as aborts; Redis's WATCH and Lua transactions come out clean; the namespaces are theirs."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import pytest

from sandbox.experiments.isolation.drive import drive
from sandbox.measure.isolation import check
from sandbox.measure.isolation.workload import TxnGenerator, TxnSpec
from sandbox.stores import make_model_store
from sandbox.stores.contract import NotAnswerable, TransactionalWorkload, Transactions
from tests.helpers import model, new_namespace


@dataclass
class ReadModifyWrite:
    """Every transaction reads a key and appends to it: the shape a lost update needs, on two hot keys."""

    spec: TxnSpec = field(default_factory=lambda: TxnSpec(keys=2))
    _n: itertools.count = field(default_factory=lambda: itertools.count(1))

    def next(self) -> tuple:
        n = next(self._n)
        return (("r", n % 2, None), ("append", n % 2, n))


async def transactions(open_model_store, name: str) -> Transactions:  # type: ignore[no-untyped-def]
    store = await open_model_store(name)
    assert isinstance(store, TransactionalWorkload)
    txns = store.transactions()
    assert isinstance(txns, Transactions), txns
    await txns.setup()
    return txns


@pytest.mark.stores("postgres")
async def test_postgres_read_committed_loses_updates_serializable_does_not(open_model_store) -> None:  # type: ignore[no-untyped-def]
    txns = await transactions(open_model_store, "postgres")
    try:
        rc = check((await drive(txns, "read committed", ReadModifyWrite(), 300, 8)).history)  # type: ignore[arg-type]
        assert rc.anomaly_counts.get("lost-update", 0) > 0, rc.summary()
        assert rc.kinds & {"G-single", "G2-item"}, rc.summary()
        assert not rc.kinds & {"G0", "G1a", "G1b", "G1c", "internal", "duplicate", "garbage-read"}, rc.summary()
    finally:
        await txns.drop()
    await txns.setup()  # a fresh namespace: the same values again
    try:
        driven = await drive(txns, "serializable", ReadModifyWrite(), 300, 8)  # type: ignore[arg-type]
        ser = check(driven.history)
        assert ser.valid, ser.summary()
        assert ser.txns.fail > 0 and driven.errors.get("SerializationError", 0) > 0, (ser.summary(), driven.errors)
        assert ser.txns.ok > 0
    finally:
        await txns.drop()
    assert not await txns.pool.fetchval(  # type: ignore[attr-defined]
        "SELECT count(*) FROM pg_namespace WHERE nspname = $1", txns.schema.strip('"'))  # type: ignore[attr-defined]


@pytest.mark.stores("postgres")
async def test_postgres_repeatable_read_random_workload(open_model_store) -> None:  # type: ignore[no-untyped-def]
    """Snapshot isolation: no G-single, lost update or G1 on a random hot workload; write conflicts abort."""
    txns = await transactions(open_model_store, "postgres")
    try:
        gen = TxnGenerator(TxnSpec(keys=3, max_ops=4), seed=7)
        driven = await drive(txns, "repeatable read", gen, 300, 8)
        got = check(driven.history)
        assert not got.kinds - {"G2-item"}, got.summary()
        assert got.txns.fail > 0, got.summary()
    finally:
        await txns.drop()


@pytest.mark.stores("redis")
@pytest.mark.parametrize("level", ["watch", "lua"])
async def test_redis_transactions_clean(open_model_store, level: str) -> None:  # type: ignore[no-untyped-def]
    txns = await transactions(open_model_store, "redis")
    try:
        for gen in (ReadModifyWrite(), TxnGenerator(TxnSpec(keys=3, max_ops=4), seed=3),
                    TxnGenerator(TxnSpec(model="rw-register", keys=3, max_ops=4), seed=4)):
            await txns.drop()
            await txns.setup()
            driven = await drive(txns, level, gen, 300, 8)  # type: ignore[arg-type]
            got = check(driven.history, model=gen.spec.model)
            assert got.valid, got.summary()
            assert got.txns.ok > (50 if level == "watch" else 250), got.summary()  # WATCH refuses many
            if level == "watch" and isinstance(gen, ReadModifyWrite):
                assert got.txns.fail > 0, "WATCH never refused an EXEC on two hot keys: is it watching?"
    finally:
        await txns.drop()
    assert not [k async for k in txns.client.scan_iter(match=f"{txns.prefix}:*")]  # type: ignore[attr-defined]


@pytest.mark.parametrize("kind", ["elastic", "influx"])
def test_no_multi_key_transactions_said_so(settings, kind: str) -> None:  # type: ignore[no-untyped-def]
    """Never connected: the answer is the kind's, not the server's."""
    got = make_model_store(settings, kind, new_namespace(), model(), 8, {}).transactions()  # type: ignore[attr-defined]
    assert isinstance(got, NotAnswerable) and "transaction" in got.reason


@pytest.mark.stores("mongo")
async def test_mongo_snapshot_transactions(open_model_store) -> None:  # type: ignore[no-untyped-def]
    """The stand-in's multi-document transactions: nothing snapshot isolation forbids; write conflicts abort."""
    txns = await transactions(open_model_store, "mongo")
    try:
        driven = await drive(txns, "snapshot", ReadModifyWrite(), 120, 6)  # type: ignore[arg-type]
        got = check(driven.history)
        assert not got.kinds - {"G2-item"}, (got.summary(), driven.errors)
        assert got.txns.ok > 0 and got.txns.fail > 0, (got.summary(), driven.errors)
    finally:
        await txns.drop()
    assert txns.database not in await txns.client.list_database_names()  # type: ignore[attr-defined]
