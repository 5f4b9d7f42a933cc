"""The contract between the sandbox and a store that holds a domain model (docs/models.md, docs/architecture.md).

A small required core, `ModelStore`: connect, prepare (the namespace, the physical design derived from the
model, the reference data), write one root instance (its aggregate: the root and its owned children,
atomically, in one round trip), read one instance by key, scan every instance of an entity, teardown,
close. What a store can do beyond that is a separate protocol whose presence is the capability
(`isinstance(store, BatchWrite)`), so a flag can never disagree with the code.

Access patterns: `answer(pattern)` returns an `Answerer` bound to the pattern (a coroutine function of
`Params`) or `NotAnswerable` saying why; the store never computes an answer client-side.

Rules every adapter keeps (the contract tests check them; tests/test_model_contract.py):
- connect() opens connections and creates nothing (`sandbox gc` connects under a made-up namespace);
- prepare() creates only this run's namespace and fails with `NamespaceExists` when it is there already;
- teardown() drops only what prepare() created, and nothing when prepare() did not run;
- write/read/scan/answer never time themselves and never retry (TimedStore times every call);
- a record is normalised: keys and text as str, money as Decimal at the field's scale (a float-only store
  converts back and says so in `money`), times as UTC datetimes, owned collections as lists in position order.

Contention: a conditional update (transition, decrement, increment) is never applied twice, over a newer
version or below a floor. A store whose concurrency control is optimistic (read, check, write only if
unchanged) and has no server-side retry may also refuse one that could have applied when a concurrent write
got in between: its answerer is marked `optimistic(...)`, a transition or decrement then answers False and
an increment raises `Conflict` (never retried in the adapter: the caller, and TimedStore, see it).
A read-modify-write (a transition with `read_first`, YCSB F) is the caller's `read`, then the transition
answerer at the version read + 1: a store needs nothing more for it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from sandbox.config import Endpoint
from sandbox.errors import SandboxError, UsageError
from sandbox.stores.server_stats import ServerStats
from sandbox.workload.dataset import Dataset, Instance
from sandbox.workload.params import AggregateRow, Params
from sandbox.workload.schema import Entity, Model, Pattern


@dataclass(frozen=True)
class ServerInfo:
    """What the server says it is (connect's answer), so nobody mistakes a stand-in for the real product."""

    product: str
    version: str
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.product} {self.version}" + (f" ({self.detail})" if self.detail else "")


Record = dict[str, Any]  # an instance as a store hands it back: the fields it keeps, normalised
__all__ = ["AggregateRow", "Params"]  # defined with the model (workload/params.py), part of this contract


class NamespaceExists(UsageError):
    """prepare() found this run's namespace already there (another run id is needed)."""


class Conflict(SandboxError):
    """An optimistic conditional update lost to a concurrent write to the same instance: not applied, not retried."""


@dataclass(frozen=True)
class Kept:
    """Which fields of an entity a store keeps (and so which are compared), per owned collection too."""

    fields: tuple[str, ...]
    children: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class NotAnswerable:
    """An access pattern this store's design cannot serve natively, and why (shown in reports as such)."""

    reason: str


Answer = Any  # get: Record | None; find/range/search: list of keys; aggregate: list of AggregateRow;
# transition / decrement: bool (applied); increment: the new value, or None when there is no such instance
Answerer = Callable[[Params], Awaitable[Answer]]


def optimistic(answerer: Answerer) -> Answerer:
    """Marks an answerer that may refuse under contention (see the module docstring); returns it."""
    answerer.optimistic = True  # type: ignore[attr-defined]
    return answerer


def refuses_under_contention(answerer: Answerer) -> bool:
    return bool(getattr(answerer, "optimistic", False))


class ModelStore(Protocol):
    """The required core (see the module docstring for the rules)."""

    name: str  # the instance's name in a run: the kind's, or "kind:variant"
    endpoint: Endpoint
    namespace: str
    money: str  # how it keeps exact decimals: "exact decimal", "scaled_float", "float64", ...

    async def connect(self) -> ServerInfo: ...
    async def prepare(self, data: Dataset) -> None: ...
    async def write(self, instance: Instance) -> None: ...
    async def read(self, entity: str, key: Any) -> Record | None: ...
    def scan(self, entity: str) -> AsyncIterator[Record]: ...
    def kept(self, entity: str) -> Kept: ...
    def answer(self, pattern: Pattern) -> Answerer | NotAnswerable: ...
    def describe(self) -> str: ...
    async def teardown(self) -> None: ...
    async def close(self) -> None: ...


@runtime_checkable
class BatchWrite(Protocol):
    async def write_batch(self, instances: Sequence[Instance]) -> None:
        """Several root instances in one round trip (COPY, insert_many, one pipeline, _bulk, one request)."""


@runtime_checkable
class Upsert(Protocol):
    async def upsert(self, instance: Instance, version: int) -> bool:
        """Idempotent, version-gated write keyed by the root's key: applied (True) only over an older version
        or none; relays and projections deliver at least once, so a redelivery changes nothing."""


@runtime_checkable
class TransactionalSource(Protocol):
    """A source of truth (its kind plays `source_of_truth`): a root instance committed in the caller's own
    transaction beside the caller's rows (an outbox row, events, a saga's state), all or nothing, and
    notifications the caller's triggers send (the write strategies' relays and projections wake on them)."""

    errors: tuple[type[BaseException], ...]  # what its client raises when the source itself failed (down, cut)

    def transaction(self) -> AbstractAsyncContextManager[Any]:
        """A connection of the store's own client in an open transaction (PostgreSQL: an asyncpg Connection, for
        the caller's statements); it commits when the block ends and rolls back when the block raises."""

    async def write_in(self, tx: Any, instance: Instance, version: int | None = None) -> bool:
        """The root instance (its aggregate) written inside `tx`: inserted (version None; True), or as
        Upsert.upsert at `version` (True: applied over an older version or none)."""

    async def listen(self, channel: str, wake: Callable[[], None]) -> Callable[[], Awaitable[None]]:
        """Call `wake` on every notification on `channel` (a connection of its own); returns its close()."""


@runtime_checkable
class SearchPath(Protocol):
    async def visible(self, key: Any) -> bool:
        """Whether a reader's query path (a search, a time-series query) finds the instance now."""


@runtime_checkable
class ServerCounters(Protocol):
    async def server_stats(self) -> ServerStats:
        """What the server reports about its own work now (stores/server_stats.py); cumulative counters."""


@runtime_checkable
class ServerSettings(Protocol):
    async def server_settings(self) -> dict[str, str]:
        """The server's durability settings as it reports them now."""


@dataclass(frozen=True)
class BackupArtifact:
    """One backup a store's server took: where it is, how big, how long it took, and the moment it holds."""

    store: str
    method: str  # one of the store's Backups.methods
    path: Path  # inside the stack's backups directory for the store
    size_bytes: int
    duration_s: float
    taken_at: datetime  # UTC: the data is consistent as of this moment (the backup's end)
    detail: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"store": self.store, "method": self.method, "path": str(self.path), "size_bytes": self.size_bytes,
                "duration_s": round(self.duration_s, 3), "taken_at": self.taken_at.isoformat(), "detail": self.detail}


@dataclass(frozen=True)
class BackupTarget:
    """A server the stack runs and owns, as its backups need it: its folder, where backups go, its port."""

    store: str
    root: Path  # the store's data directory on this host (the stack's store_dir)
    backups: Path  # the stack's backups directory for the store, beside root (survives a destroyed root)
    port: int  # shifted
    admin_url: str  # the stack's administrative login: backups need more than the run's (stack.admin_url)
    settings: Mapping[str, Any]  # the durability knobs the server runs with (Durability.server)
    namespace: str = ""  # the run's namespace, for a store that backs up one database (InfluxDB)


@runtime_checkable
class Backups(Protocol):
    """A kind's server-level backups (StoreKind.backups; stores/<name>/backup.py). Blocking calls: a caller on
    the event loop runs them in a thread. Restore is in two halves around the stack's own start of the server:
    restore_files while it is down (the data directory rebuilt from the artifact), restore_online once it runs
    (a load through the server, or waiting for its recovery); after that it answers reads of restored data."""

    methods: tuple[str, ...]
    continuous: str | None  # what it keeps between backups (PostgreSQL: "WAL archive"), None: nothing
    continuous_knobs: Mapping[str, Any]  # the kind's durability knobs that turn `continuous` on

    def take(self, target: BackupTarget, method: str) -> BackupArtifact: ...
    def destroy(self, target: BackupTarget) -> list[Path]:
        """Delete what a lost data disk would take (the server must be down); the paths deleted."""
    def restore_files(self, target: BackupTarget, artifact: BackupArtifact, until: datetime | None = None) -> str:
        """until: recover to that moment (point-in-time, where `continuous`), else as far as there is data."""
    def restore_online(self, target: BackupTarget, artifact: BackupArtifact, timeout_s: float) -> str: ...


@dataclass(frozen=True)
class NoBackups:
    """What the answering server cannot do for backups, in one line (a stand-in says which)."""

    reason: str


@dataclass(frozen=True)
class FootprintReading:
    """What the server says the run's data takes now, in bytes, from its own figures (docs/footprint.md).

    data: the rows / documents / hashes / points of the run's namespace (tables with TOAST, collections'
    storage, entity hashes, TSM files); indexes: each index (or index structure) by name; log: the position
    or size of the server's log (WAL / AOF / translog / shard WAL) — server-wide where the server keeps one log
    for everything (`log_scope` says), so the experiment differences two readings; memory: a server-wide
    memory figure where data lives in memory (Redis used_memory). None: the server did not answer that figure,
    and `unavailable` says why; never a zero standing for "unknown"."""

    source: str  # which of the server's figures these are (e.g. "pg_table_size, pg_relation_size, WAL LSN")
    data_bytes: int | None
    index_bytes: Mapping[str, int] | None  # index name -> bytes
    log_bytes: int | None = None
    log_scope: str = "server-wide"  # or "the run's namespace"
    memory_bytes: int | None = None
    log_holds_data: bool = False  # unflushed data lives only in the log (InfluxDB's WAL before a snapshot)
    detail: Mapping[str, int] = field(default_factory=dict)  # e.g. table -> heap / TOAST bytes
    unavailable: tuple[str, ...] = ()  # why a figure is None, one line each
    held_in: str = "disk"  # where the server keeps the data ("disk" or "memory"): the price a projection uses

    @property
    def held_bytes(self) -> int | None:
        """Bytes the namespace's data holds: data + indexes (+ the log when it is where the data lives)."""
        if self.data_bytes is None:
            return None
        log = (self.log_bytes or 0) if self.log_holds_data else 0
        return self.data_bytes + sum((self.index_bytes or {}).values()) + log

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, "data_bytes": self.data_bytes,
                "index_bytes": None if self.index_bytes is None else dict(self.index_bytes),
                "log_bytes": self.log_bytes, "log_scope": self.log_scope, "memory_bytes": self.memory_bytes,
                "log_holds_data": self.log_holds_data, "held_bytes": self.held_bytes, "detail": dict(self.detail),
                "unavailable": list(self.unavailable), "held_in": self.held_in}


@runtime_checkable
class Footprint(Protocol):
    async def footprint(self) -> FootprintReading:
        """The namespace's bytes now, from the server's own figures (stores/<name>/footprint.py)."""


@dataclass(frozen=True)
class IndexUse:
    """One index of the namespace as the server counts it: scans since its statistics began (a new index, or
    the server's last statistics reset: a restart, pg_stat_reset), None where the server does not count; and
    whether it also enforces a constraint (a primary key or unique index is kept for that even when no query
    scans it)."""

    name: str
    scans: int | None  # None: the server keeps no such count (never a 0 standing for "unknown")
    enforces: bool


@runtime_checkable
class IndexCost(Protocol):
    """Indexes the design built for access patterns, which the footprint's index-cost step drops and rebuilds
    to time a pattern without one (stores/<name>/indexes.py), and the server's count of scans per index."""

    usage_source: str  # the server's figure, e.g. "pg_stat_user_indexes.idx_scan", with when it resets

    def pattern_indexes(self) -> Mapping[str, tuple[str, ...]]:
        """Index name -> the access patterns it serves (only those the store can drop and rebuild)."""

    async def index_usage(self) -> list[IndexUse]:
        """Every index of the namespace with its scans so far (pending counts flushed first)."""

    async def drop_index(self, name: str) -> None: ...

    async def restore_index(self, name: str) -> None:
        """Build the dropped index again, as the design declares it."""


Mop = tuple[str, Any, Any]  # a transaction's micro-operation: ("append", k, v), ("r", k, read), ("w", k, v)
PROMISES = ("read-committed", "snapshot-isolation", "serializable")  # what a level may promise (docs/isolation.md)


@dataclass(frozen=True)
class TxnOutcome:
    """How one transaction attempt ended: "ok" with `mops` (every read filled in), "fail" (the store says it did
    not happen: an abort, a serialization failure, a deadlock victim) or "info" (unknown: a timeout, a broken
    connection); `error` names the store's reason for fail and info."""

    type: str
    mops: tuple[Mop, ...] | None = None
    error: str = ""


@runtime_checkable
class Transactions(Protocol):
    """Transactions over a namespace of its own (a table, a collection, a key prefix it creates and drops), at
    the isolation levels the store offers: `levels` maps each level's name to what it promises (PROMISES)."""

    levels: Mapping[str, str]
    where: str  # the namespace it works in, for reports

    async def setup(self) -> None: ...

    async def run(self, level: str, model: str, mops: Sequence[Mop]) -> TxnOutcome:
        """One list-append ("list-append") or register ("rw-register") transaction at `level`, never retried."""

    async def drop(self) -> None: ...


@runtime_checkable
class TransactionalWorkload(Protocol):
    def transactions(self) -> Transactions | NotAnswerable:
        """Its transactions on its own connection, or why multi-key transactions are impossible on it."""


StoreFactory = Callable[[Endpoint, str, Model, Mapping[str, Any]], ModelStore]  # endpoint, namespace, model, options


def utc_ms(at: datetime) -> datetime:
    """A store's time normalised to a UTC datetime with millisecond precision (generated times have no finer)."""
    at = at if at.tzinfo else at.replace(tzinfo=UTC)
    return at.astimezone(UTC).replace(microsecond=at.microsecond // 1000 * 1000)


def exact(value: Any, scale: int) -> Decimal | None:
    """A store's number as the Decimal at `scale` it stands for (floats go through their shortest repr)."""
    if value is None:
        return None
    return Decimal(repr(value) if isinstance(value, float) else str(value)).quantize(Decimal(1).scaleb(-scale))


def answerable(store: ModelStore, entity: Entity, patterns: Mapping[str, Pattern]) -> dict[str, str | None]:
    """pattern name -> None (answered) or the reason it is not, for the patterns on `entity`."""
    out: dict[str, str | None] = {}
    for name, p in patterns.items():
        if p.entity == entity.name:
            a = store.answer(p)
            out[name] = a.reason if isinstance(a, NotAnswerable) else None
    return out
