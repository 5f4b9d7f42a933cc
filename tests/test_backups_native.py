"""Backups and restores on the real servers: take one, write more, kill the server, destroy its data, restore,
and read back which root instances are there (stores/<name>/backup.py through stack/backups.py).

Each test runs a native stack of its own (ports shifted 4650 beyond SANDBOX_PORT_OFFSET, a temporary state dir).
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from sandbox.errors import UsageError
from sandbox.stack.backups import backups_of, target_of
from sandbox.stores import make_model_store
from sandbox.stores.contract import Backups
from sandbox.stores.kind import Durability
from sandbox.stores.registry import StoreRegistry
from sandbox.workload.dataset import Dataset, Sizes
from sandbox.workload.model_file import find, load
from tests.helpers import PROJECT, Throwaway, throwaway_stack

TEST_OFFSET = 4650
MODEL = load(find(PROJECT, "orders"))
REGISTRY = StoreRegistry.built_in()
BEFORE, AFTER = 60, 40  # roots written before the backup, and after it


@pytest.fixture
def own(tmp_path: Path) -> Iterator[Throwaway]:
    with throwaway_stack(tmp_path / "state", TEST_OFFSET) as t:
        yield t


async def present_after_restore(t: Throwaway, kind: str, method: str, lose_archive: bool = False) -> set[int]:
    """Write BEFORE roots, back up, write AFTER more, kill -9, destroy the data, restore; the indexes found."""
    t.stack.up([kind])
    namespace = f"sbx_test_{secrets.token_hex(3)}"
    data = Dataset(MODEL, 5, Sizes(BEFORE + AFTER))
    backups = backups_of(REGISTRY, kind)
    store: Any = make_model_store(t.settings, kind, namespace, MODEL)
    await store.connect()
    try:
        await store.prepare(data)
        for instance in data.roots(0, BEFORE):
            await store.write(instance)
        target = target_of(t.stack, REGISTRY, kind, namespace)
        artifact = backups.take(target, method)
        assert artifact.size_bytes > 0 and artifact.duration_s > 0
        for instance in data.roots(BEFORE):
            await store.write(instance)
        if backups.continuous:
            backups.flush_archive(target)  # type: ignore[attr-defined]
    finally:
        await store.close()
    t.stack.kill(kind)
    destroyed = backups.destroy(target)
    assert not any(p.exists() for p in destroyed)
    if lose_archive:
        backups.destroy_archive(target)  # type: ignore[attr-defined]
    backups.restore_files(target, artifact)
    t.stack.start(kind)
    backups.restore_online(target, artifact, 60.0)
    reader: Any = make_model_store(t.settings, kind, namespace, MODEL)
    await reader.connect()
    try:
        key = MODEL.root_entity.key
        return {i for i, inst in enumerate(data.roots()) if await reader.read(MODEL.root, inst[key]) is not None}
    finally:
        await reader.close()


def test_every_kind_declares_backups_or_says_why_not() -> None:
    for name, kind in REGISTRY.kinds.items():
        if kind.native is None:
            continue
        if isinstance(kind.backups, Backups):
            assert kind.backups.methods, name
        else:
            with pytest.raises(UsageError) as err:
                backups_of(REGISTRY, name)
            assert "\n" not in str(err.value) and len(str(err.value)) > 20, name


def test_a_target_is_refused_for_a_server_the_stack_does_not_run(own: Throwaway) -> None:
    with pytest.raises(UsageError, match="not running"):
        target_of(own.stack, REGISTRY, "redis")


async def test_postgres_base_backup_plus_surviving_wal_archive_loses_nothing(own: Throwaway) -> None:
    own.stack.set_durability(Durability({"postgres.archive": True, "postgres.archive_timeout_s": 0}))
    assert await present_after_restore(own, "postgres", "base") == set(range(BEFORE + AFTER))


async def test_postgres_without_its_wal_archive_has_only_what_the_base_backup_held(own: Throwaway) -> None:
    own.stack.set_durability(Durability({"postgres.archive": True}))
    assert await present_after_restore(own, "postgres", "base", lose_archive=True) == set(range(BEFORE))


@pytest.mark.parametrize("appendonly", [True, False])
async def test_redis_rdb_restore_loses_exactly_the_writes_after_the_snapshot(own: Throwaway, appendonly: bool) -> None:
    own.stack.set_durability(Durability({"redis.appendonly": appendonly}))
    assert await present_after_restore(own, "redis", "rdb") == set(range(BEFORE))


async def test_influx_portable_backup_round_trips_every_point(own: Throwaway) -> None:
    assert await present_after_restore(own, "influx", "portable") == set(range(BEFORE))


async def test_postgres_point_in_time_restore_keeps_exactly_the_roots_acknowledged_before_t(own: Throwaway) -> None:
    own.stack.set_durability(Durability({"postgres.archive": True}))
    own.stack.up(["postgres"])
    namespace = f"sbx_test_{secrets.token_hex(3)}"
    data = Dataset(MODEL, 9, Sizes(BEFORE + AFTER))
    backups = backups_of(REGISTRY, "postgres")
    store: Any = make_model_store(own.settings, "postgres", namespace, MODEL)
    await store.connect()
    try:
        await store.prepare(data)
        target = target_of(own.stack, REGISTRY, "postgres", namespace)
        artifact = backups.take(target, "base")
        for instance in data.roots(0, BEFORE):  # one at a time: each acknowledged before the next is sent
            await store.write(instance)
        await asyncio.sleep(0.2)
        t = datetime.now(UTC)
        await asyncio.sleep(0.2)
        for instance in data.roots(BEFORE):
            await store.write(instance)
        backups.flush_archive(target)  # type: ignore[attr-defined]
    finally:
        await store.close()
    own.stack.kill("postgres")
    backups.destroy(target)
    backups.restore_files(target, artifact, until=t)
    own.stack.start("postgres")
    backups.restore_online(target, artifact, 60.0)
    reader: Any = make_model_store(own.settings, "postgres", namespace, MODEL)
    await reader.connect()
    try:
        key = MODEL.root_entity.key
        present = {i for i, inst in enumerate(data.roots()) if await reader.read(MODEL.root, inst[key]) is not None}
    finally:
        await reader.close()
    assert present == set(range(BEFORE))
