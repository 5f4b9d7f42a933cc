"""A store that does nothing: measures the harness itself (calibration, bench)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from sandbox.config import Endpoint
from sandbox.stores.contract import Answerer, Kept, NotAnswerable, Record, ServerInfo
from sandbox.workload.dataset import Dataset, Instance
from sandbox.workload.schema import Model, Pattern


class NoopModelStore:
    kind = "noop"
    money = "-"

    def __init__(self, endpoint: Endpoint, namespace: str, model: Model, options: Mapping[str, Any]):
        self.name, self.endpoint, self.namespace, self.model = self.kind, endpoint, namespace, model

    async def connect(self) -> ServerInfo:
        return ServerInfo("no-op", "-", "harness calibration")

    async def prepare(self, data: Dataset) -> None:
        pass

    async def write(self, instance: Instance) -> None:
        pass

    async def write_batch(self, instances: Sequence[Instance]) -> None:
        pass

    async def upsert(self, instance: Instance, version: int) -> bool:
        return True

    async def read(self, entity: str, key: Any) -> Record | None:
        return None

    async def scan(self, entity: str) -> AsyncIterator[Record]:
        return
        yield  # an async generator that yields nothing

    def kept(self, entity: str) -> Kept:
        """It takes every write (keeps nothing): a run writes to it; a comparison finds everything missing."""
        return Kept(tuple(f.name for f in self.model.entity(entity).stored_fields))

    def answer(self, pattern: Pattern) -> Answerer | NotAnswerable:
        return NotAnswerable("the no-op store keeps nothing")

    def describe(self) -> str:
        return "nothing: every call returns at once (the harness's own cost)"

    async def teardown(self) -> None:
        pass

    async def close(self) -> None:
        pass
