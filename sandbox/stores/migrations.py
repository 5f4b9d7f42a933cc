"""Versioned schema migrations, one file per change in each store's folder (`stores/<name>/migrations/`).

A migration file is `NNNN_name.py` with a docstring (its first line is its summary) and what the
store's kit (`migrations/__init__.py` `KIT`, a MigrationKit subclass) knows how to apply: SQL text
`UP`/`DOWN` for PostgreSQL, `async def up(store)` / `down(store)` for the others, `store` being the model store
of the orders model: the files change the physical design `sandbox model show orders --store S` prints
(tables, collections, key layout, mappings, the database's retention). The kit records the
version reached in the run's namespace (a table, a document, a key, a point), in the same transaction
as the change where the store has transactions; a migration that fails leaves the version unchanged.
"""

from __future__ import annotations

import asyncio
import importlib
import pkgutil
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Literal

from sandbox.errors import SandboxError, UsageError
from sandbox.stores.contract import ModelStore

Direction = Literal["up", "down"]
FILE = re.compile(r"^(\d{4})_(\w+)$")


class MigrationFailed(SandboxError):
    """A migration the server refused: the recorded version did not move (exit 3)."""

    exit_code = 3


@dataclass(frozen=True)
class Waits:
    """One sample of the server's lock waits: sessions blocked on a lock, and whether the migration is one."""

    blocked: int  # sessions other than the migration's waiting on a lock
    migration_waiting: bool


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    module: ModuleType

    @property
    def summary(self) -> str:
        return " ".join((self.module.__doc__ or self.name).strip().split("\n\n")[0].split())

    @property
    def table(self) -> str | None:
        """The table (collection, index) it changes, for the rewrite check; None where not applicable."""
        return getattr(self.module, "TABLE", None)

    def __str__(self) -> str:
        return f"{self.version:04d}_{self.name}"


class MigrationKit(ABC):
    """What one store kind knows about migrating its namespace: where the version is kept, how a file is
    applied, and what the schema looks like (to check that a rollback restored it)."""

    def __init__(self, store: ModelStore):
        self.store = store

    def check(self) -> None:  # noqa: B027 (optional: a kit whose files fit every design of its store checks nothing)
        """UsageError when the store's design is not the one the migration files were written for."""

    @abstractmethod
    async def exists(self) -> bool:
        """Whether the store's namespace exists (migrations never create one)."""

    @abstractmethod
    async def current(self) -> int:
        """The version recorded in the namespace (0 when none is)."""

    @abstractmethod
    async def apply(self, migration: Migration, direction: Direction, lock_timeout_ms: int | None = None) -> None:
        """Run the migration's up or down and record the version it leaves (migration.version for up,
        one less for down), atomically where the store can."""

    async def schema(self) -> dict[str, Any]:
        """The namespace's schema as comparable data (columns, indexes, validators, mappings...)."""
        return {}

    async def storage_id(self, table: str) -> str | None:
        """An identifier of a table's storage that changes when the table is rewritten (None: not known)."""
        return None

    async def fill(self, rows: int) -> None:  # noqa: B027 (optional: a kit without filler adds none)
        """Add `rows` filler records so a change has something to scan (the migration scenario)."""

    async def waits(self) -> Waits | None:
        """Who is waiting on a lock right now (None: the store cannot say)."""
        return None

    async def hold_reader(self, table: str, seconds: float, holding: asyncio.Event) -> None:
        """Keep a reading transaction open on `table` for `seconds` (set `holding` once it reads)."""
        raise UsageError(f"{self.store.name} has no long-running reader transaction to hold")

    async def close(self) -> None:  # noqa: B027 (optional: most kits open nothing of their own)
        """Release what the kit opened besides the adapter's own connections."""

    def lock_timed_out(self, exc: BaseException) -> bool:
        """Whether a failed apply gave up waiting for a lock (so a retry may succeed)."""
        return False


def package_of(store: Any) -> str:
    """The migrations package of a store kind: `migrations` in its folder (from a model store, its class or
    its kind's factory: anything defined in the folder)."""
    parts = store.__module__.split(".")  # sandbox.stores.<name>.<module> (an instance: its class's)
    return ".".join(parts[:3]) + ".migrations"


def load(store: Any) -> list[Migration]:
    """The store's migrations in version order (empty when its folder has none)."""
    try:
        package = importlib.import_module(package_of(store))
    except ModuleNotFoundError:
        return []
    found = []
    for info in pkgutil.iter_modules(package.__path__):
        if match := FILE.match(info.name):
            module = importlib.import_module(f"{package.__name__}.{info.name}")
            found.append(Migration(int(match[1]), match[2], module))
    found.sort(key=lambda m: m.version)
    for i, m in enumerate(found, start=1):
        if m.version != i:
            raise UsageError(f"{package.__name__}: migration {m} should be numbered {i:04d} (no gaps, no repeats)")
    return found


def kit(store: ModelStore) -> MigrationKit:
    try:
        package = importlib.import_module(package_of(store))
    except ModuleNotFoundError:
        raise UsageError(f"{store.name} has no migrations (no {package_of(store)} package)") from None
    kit_type: type[MigrationKit] = package.KIT
    made = kit_type(store)
    made.check()
    return made


def plan(migrations: list[Migration], current: int, direction: Direction, to: int | None) -> list[Migration]:
    """The migrations to run, in order, to go from `current` towards `to` (default: all the way)."""
    top = len(migrations)
    target = (top if direction == "up" else 0) if to is None else to
    if not 0 <= target <= top:
        raise UsageError(f"--to {target}: versions run from 0 to {top}")
    if direction == "up":
        if target < current:
            raise UsageError(f"--to {target} is below the current version {current}; use `migrate down --to {target}`")
        return migrations[current:target]
    if target > current:
        raise UsageError(f"--to {target} is above the current version {current}; use `migrate up --to {target}`")
    return list(reversed(migrations[target:current]))


async def migrate(store: ModelStore, direction: Direction, to: int | None = None,
                  lock_timeout_ms: int | None = None) -> list[Migration]:
    """Apply migrations up or down to version `to`; returns those applied. Stops at the first failure."""
    tool = kit(store)
    try:
        if not await tool.exists():
            raise UsageError(f"{store.name} has no namespace {store.namespace}; keep a run's data with "
                             "`sandbox run orders --keep` and pass its namespace")
        current = await tool.current()
        done: list[Migration] = []
        for m in plan(load(store), current, direction, to):
            try:
                await tool.apply(m, direction, lock_timeout_ms)
            except Exception as exc:
                at = await tool.current()
                raise MigrationFailed(
                    f"{store.name} migration {m} {direction} failed ({type(exc).__name__}: {str(exc)[:160]}); "
                    f"the recorded version stays {at}: fix the cause and run `sandbox migrate {direction} "
                    f"--namespace {store.namespace} --stores {store.name}` again") from exc
            done.append(m)
        return done
    finally:
        await tool.close()


async def status(store: ModelStore) -> tuple[int, list[Migration]]:
    """The recorded version of the store's namespace and its migrations."""
    tool = kit(store)
    try:
        if not await tool.exists():
            raise UsageError(f"{store.name} has no namespace {store.namespace}")
        return await tool.current(), load(store)
    finally:
        await tool.close()
