"""Store kinds defined outside the sandbox package: `memory` (orders in a dict in the client process)
and `files` (orders as JSON files in a folder per namespace, with namespace markers).

The plugin tests name them in SANDBOX_STORE_PLUGINS (or a config file's store_plugins) and check
that every part of the sandbox picks them up without any other edit. No server: nothing to start.
`memory` keeps nothing after its run, so it declares no markers (`sandbox gc` says it cannot find
its leftovers); `files` keeps its folders, so it marks them and gc finds the ones a killed run left.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterable
from dataclasses import asdict, dataclass
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

from sandbox.stores.base import ServerInfo, StatusTotal, Store, StoreOptions
from sandbox.stores.kind import StoreKind
from sandbox.stores.markers import MARKER, PREFIX, Found, Marker
from sandbox.stores.options import StoreOption
from sandbox.workload.model import Catalog, Order, OrderRecord


@dataclass(frozen=True)
class MemoryOptions(StoreOptions):
    lag_ms: int = 0  # each write waits this long: a slow store, set as -o memory.lag_ms=N


class MemoryStore(Store):
    name = "memory"
    money_note = "exact decimal (in process)"
    Options = MemoryOptions
    options: MemoryOptions

    async def connect(self) -> ServerInfo:
        self.orders: dict[str, OrderRecord] = {}
        return ServerInfo("in-process dict", "1", "test plugin")

    async def prepare(self, catalog: Catalog) -> None:
        pass

    async def write(self, order: Order) -> None:
        if self.options.lag_ms:
            await asyncio.sleep(self.options.lag_ms / 1000)
        self.orders[order.id] = order.record()

    async def read(self, order_id: str) -> OrderRecord | None:
        return self.orders.get(order_id)

    async def scan(self) -> AsyncIterator[OrderRecord]:
        for record in list(self.orders.values()):
            yield record

    async def aggregates(self) -> dict[str, StatusTotal]:
        return _totals(self.orders.values())

    async def teardown(self) -> None:
        self.orders.clear()

    async def close(self) -> None:
        pass

    def describe(self) -> str:
        return "a dict of order records in the client process"


def _totals(records: Iterable[OrderRecord]) -> dict[str, StatusTotal]:
    totals: dict[str, StatusTotal] = {}
    for r in records:
        seen = totals.get(r.status or "", StatusTotal(0, Decimal(0)))
        totals[r.status or ""] = StatusTotal(seen.count + 1, seen.revenue + (r.total or Decimal(0)))
    return totals


KIND = StoreKind(name="memory", adapter=MemoryStore, schemes=("memory",), hostless_schemes=("memory",),
                 default_url=lambda backend, env, port: "memory://", client_libraries=("pytest",),
                 options=(StoreOption("lag_ms", "milliseconds each write waits (a slow store)", 0, type=int,
                                      minimum=0),))


class FilesStore(Store):
    """Orders as JSON files, one folder per namespace under the directory its file:// URL names: what it
    writes outlives the client, so a killed run leaves a namespace behind (and marks it, for `sandbox gc`)."""

    name = "files"
    money_note = "exact decimal (JSON string)"

    async def connect(self) -> ServerInfo:
        self.root = Path(urlsplit(self.endpoint.url).path)
        self.root.mkdir(parents=True, exist_ok=True)
        self.folder = self.root / self.namespace
        return ServerInfo("local files", "1", "test plugin")

    async def prepare(self, catalog: Catalog) -> None:
        self.folder.mkdir()  # refuses a namespace that exists, as every store's prepare does

    async def write(self, order: Order) -> None:
        record = order.record()
        (self.folder / f"{order.id}.json").write_text(json.dumps({**asdict(record), "total": str(record.total)}))

    async def read(self, order_id: str) -> OrderRecord | None:
        path = self.folder / f"{order_id}.json"
        return _record(path) if path.exists() else None

    async def scan(self) -> AsyncIterator[OrderRecord]:
        for path in sorted(self.folder.glob("*.json")):
            if path.name != MARKER_FILE:
                yield _record(path)

    async def aggregates(self) -> dict[str, StatusTotal]:
        return _totals([r async for r in self.scan()])

    async def teardown(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

    async def close(self) -> None:
        pass

    def describe(self) -> str:
        return f"one JSON file per order under {self.root}"


def _record(path: Path) -> OrderRecord:
    fields = json.loads(path.read_text())
    return OrderRecord(**{**fields, "total": Decimal(fields["total"])})


MARKER_FILE = f"{MARKER}.json"


class FilesMarkers:
    """The marker: a JSON file in the namespace's folder; namespaces are the root's sbx_ folders."""

    async def mark(self, store: FilesStore, marker: Marker) -> None:
        (store.root / marker.namespace / MARKER_FILE).write_text(json.dumps(marker.fields()))

    async def find(self, store: FilesStore) -> Found:
        found = Found([], [])
        for folder in sorted(p for p in store.root.glob(f"{PREFIX}*") if p.is_dir()):
            marker = folder / MARKER_FILE
            if marker.exists():
                found.marked.append(Marker.from_fields(json.loads(marker.read_text())))
            else:
                found.unmarked.append(folder.name)
        return found

    async def drop(self, store: FilesStore, marker: Marker) -> None:
        shutil.rmtree(store.root / marker.namespace)


FILES_KIND = StoreKind(name="files", adapter=FilesStore, schemes=("file",), hostless_schemes=("file",),
                       default_url=lambda backend, env, port: f"file://{tempfile.gettempdir()}/sandbox-files-store",
                       client_libraries=("pytest",), markers=FilesMarkers())
