"""Store kinds defined outside the sandbox package: `memory` (a model's instances in a dict in the client
process) and `files` (instances as JSON files in a folder per namespace, with namespace markers).

The plugin tests name them in SANDBOX_STORE_PLUGINS (or a config file's store_plugins) and check that every
part of the sandbox picks them up without any other edit: each is a model store (sandbox/stores/contract.py)
and a StoreKind. No server: nothing to start. `memory` keeps nothing after its run, so it declares no markers
(`sandbox gc` says it cannot find its leftovers); `files` keeps its folders, so it marks them and gc finds the
ones a killed run left.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import tempfile
from collections.abc import AsyncIterator, Mapping
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sandbox.config import Endpoint
from sandbox.stores.contract import Answerer, Kept, NamespaceExists, NotAnswerable, Record, ServerInfo
from sandbox.stores.kind import StoreKind
from sandbox.stores.markers import MARKER, PREFIX, Found, Marker
from sandbox.stores.options import StoreOption
from sandbox.workload.dataset import Dataset, Instance
from sandbox.workload.schema import Model, Pattern


class PluginStore:
    """What both plugins share: the root's stored fields and owned collections kept, no pattern answered."""

    money = "exact decimal (in process)"

    def __init__(self, endpoint: Endpoint, namespace: str, model: Model, options: Mapping[str, Any]):
        self.endpoint, self.namespace, self.model = endpoint, namespace, model
        self.lag_ms = int(options.get("lag_ms", 0))

    def kept(self, entity: str) -> Kept:
        e = self.model.entity(entity)
        return Kept(tuple(f.name for f in e.stored_fields),
                    {c.name: tuple(f.name for f in self.model.entity(c.entity).stored_fields) for c in e.children})

    def answer(self, pattern: Pattern) -> Answerer | NotAnswerable:
        return NotAnswerable("a test plugin answers no access pattern")

    async def close(self) -> None:
        pass


class MemoryStore(PluginStore):
    async def connect(self) -> ServerInfo:
        self.instances: dict[str, dict[Any, Instance]] = {}
        return ServerInfo("in-process dict", "1", "test plugin")

    async def prepare(self, data: Dataset) -> None:
        self.instances = {self.model.root: {}}

    async def write(self, instance: Instance) -> None:
        if self.lag_ms:
            await asyncio.sleep(self.lag_ms / 1000)
        self.instances[self.model.root][instance[self.model.root_entity.key]] = instance

    async def read(self, entity: str, key: Any) -> Record | None:
        return self.instances.get(entity, {}).get(key)

    async def scan(self, entity: str) -> AsyncIterator[Record]:
        for record in list(self.instances.get(entity, {}).values()):
            yield record

    async def teardown(self) -> None:
        self.instances.clear()

    def describe(self) -> str:
        return "a dict of instances in the client process"


KIND = StoreKind(name="memory", schemes=("memory",), hostless_schemes=("memory",),
                 default_url=lambda backend, env, port: "memory://", client_libraries=("pytest",),
                 model_store=MemoryStore,
                 options=(StoreOption("lag_ms", "milliseconds each write waits (a slow store)", 0, type=int,
                                      minimum=0),))


class FilesStore(PluginStore):
    """Root instances as JSON files, one folder per namespace under the directory its file:// URL names: what
    it writes outlives the client, so a killed run leaves a namespace behind (and marks it, for `sandbox gc`)."""

    money = "exact decimal (JSON string)"

    async def connect(self) -> ServerInfo:
        self.root = Path(urlsplit(self.endpoint.url).path)
        self.root.mkdir(parents=True, exist_ok=True)
        self.folder = self.root / self.namespace
        self.created = False
        return ServerInfo("local files", "1", "test plugin")

    async def prepare(self, data: Dataset) -> None:
        try:
            self.folder.mkdir()  # refuses a namespace that exists, as every store's prepare does
        except FileExistsError:
            raise NamespaceExists(f"files: namespace {self.namespace} exists already") from None
        self.created = True

    async def write(self, instance: Instance) -> None:
        key = instance[self.model.root_entity.key]
        (self.folder / f"{key}.json").write_text(json.dumps(instance, default=_text))

    async def read(self, entity: str, key: Any) -> Record | None:
        path = self.folder / f"{key}.json"
        return self._record(path) if entity == self.model.root and path.exists() else None

    async def scan(self, entity: str) -> AsyncIterator[Record]:
        for path in sorted(self.folder.glob("*.json")):
            if path.name != MARKER_FILE:
                yield self._record(path)

    def _record(self, path: Path) -> Record:
        """A file back as a record of the model's types (decimals, times)."""
        def typed(entity: str, doc: dict[str, Any]) -> dict[str, Any]:
            e, out = self.model.entity(entity), dict(doc)
            for f in e.stored_fields:
                if f.type.kind == "decimal" and doc.get(f.name) is not None:
                    out[f.name] = Decimal(doc[f.name])
                elif f.type.kind == "timestamp" and doc.get(f.name) is not None:
                    out[f.name] = datetime.fromisoformat(doc[f.name])
            for c in e.children:
                out[c.name] = [typed(c.entity, child) for child in doc.get(c.name, [])]
            return out
        return typed(self.model.root, json.loads(path.read_text()))

    async def teardown(self) -> None:
        if self.created:
            shutil.rmtree(self.folder, ignore_errors=True)

    def describe(self) -> str:
        return f"one JSON file per {self.model.root} under {self.root}"


def _text(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


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


FILES_KIND = StoreKind(name="files", schemes=("file",), hostless_schemes=("file",),
                       default_url=lambda backend, env, port: f"file://{tempfile.gettempdir()}/sandbox-files-store",
                       client_libraries=("pytest",), markers=FilesMarkers(), model_store=FilesStore)
