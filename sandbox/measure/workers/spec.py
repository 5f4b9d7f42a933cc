"""What one load worker is asked to do: a run spec from a TOML file and/or SANDBOX_WORKER_* variables.

Worker i of N writes orders i, i+N, i+2N, ... of one seeded stream, so N workers on any machines
write the stream exactly once between them. The index comes from, first match wins:

- the spec (`index = 2`, or SANDBOX_WORKER_INDEX=2);
- JOB_COMPLETION_INDEX, which a Kubernetes Indexed Job sets in each pod;
- `index = "auto"`: claim the lowest free index by creating `<out>/claims/worker-<i>` exclusively
  (replicas that share the output volume, as `docker compose up --scale worker=N` makes them).
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Annotated, Any

from pydantic import ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from sandbox.errors import UsageError


class WorkerSpec(BaseSettings):
    """One worker's part of a distributed write phase. Store URLs are the usual SANDBOX_<STORE>_URL."""

    model_config = SettingsConfigDict(env_prefix="SANDBOX_WORKER_", extra="ignore", env_ignore_empty=True)

    seed: int
    orders: int  # the whole stream, all workers together
    model: str = "models/orders.toml"  # the model file every worker generates its share from (a path)
    workers: int = 1
    index: int | str | None = None  # see the module docstring
    namespace: str  # prepared beforehand (`sandbox worker --prepare`), shared by all workers
    stores: Annotated[list[str], NoDecode]  # a TOML list, or "postgres,redis" in the environment
    out: Path  # each worker writes <out>/worker-<index>/
    start_at: float | None = None  # wall clock (epoch seconds) at which all workers begin; None: at once
    batch: int = 1
    concurrency: int = 8
    rate: float | None = None  # operations per second per store, for this worker; None: closed loop
    op_timeout_s: float = 10.0
    # Store options, <store>.<option> -> value (a TOML table; JSON in the environment), checked by the CLI.
    options: dict[str, Any] = {}

    @field_validator("stores", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        return [s.strip() for s in value.split(",") if s.strip()] if isinstance(value, str) else value

    @field_validator("stores")
    @classmethod
    def _some(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("name at least one store")
        return list(dict.fromkeys(value))  # which names exist is the store registry's to say (the CLI asks it)

    @field_validator("namespace")
    @classmethod
    def _namespace(cls, value: str) -> str:
        if not value.startswith("sbx_") or not value.replace("_", "").isalnum():
            raise ValueError(f"expected sbx_<letters and digits>, got {value!r}")
        return value

    @field_validator("orders", "workers", "batch", "concurrency")
    @classmethod
    def _positive(cls, value: int) -> int:
        if value <= 0:
            raise ValueError(f"must be a positive whole number, got {value}")
        return value

    def folder(self) -> Path:
        assert isinstance(self.index, int), "resolve the index first"
        return self.out / f"worker-{self.index}"


def load_spec(path: Path | None, environ: dict[str, str]) -> WorkerSpec:
    """The spec from `path` (TOML; its keys beat the environment) and SANDBOX_WORKER_*; one UsageError if bad."""
    given: dict[str, Any] = {}
    if path is not None:
        try:
            given = tomllib.loads(path.read_text())
        except FileNotFoundError:
            raise UsageError(f"worker spec {path} does not exist") from None
        except tomllib.TOMLDecodeError as exc:
            raise UsageError(f"worker spec {path} is not valid TOML: {exc}") from None
    try:
        spec = WorkerSpec(**given)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = str(err["loc"][0]) if err["loc"] else "?"
        if err["type"] == "missing":
            raise UsageError(f"worker spec: {key} is missing (set {key} in the spec file or "
                             f"SANDBOX_WORKER_{key.upper()})") from None
        where = f"{path}: {key}" if key in given else f"SANDBOX_WORKER_{key.upper()}"
        raise UsageError(f"{where}: {err['msg'].removeprefix('Value error, ')}") from None
    if spec.index is None and environ.get("JOB_COMPLETION_INDEX", "").isdigit():
        spec.index = int(environ["JOB_COMPLETION_INDEX"])
    if isinstance(spec.index, str):
        if spec.index.isdigit():
            spec.index = int(spec.index)
        elif spec.index != "auto":
            raise UsageError(f"worker index: expected a whole number or auto, got {spec.index!r}")
    if spec.index is None:
        if spec.workers > 1:
            raise UsageError("worker index: set SANDBOX_WORKER_INDEX (or index = \"auto\" on a shared --out volume)")
        spec.index = 0
    if isinstance(spec.index, int) and not 0 <= spec.index < spec.workers:
        raise UsageError(f"worker index {spec.index} is outside 0..{spec.workers - 1}")
    return spec


def claim_index(spec: WorkerSpec) -> int:
    """Resolve index = "auto": the lowest index no other worker on the shared output folder has claimed."""
    if isinstance(spec.index, int):
        return spec.index
    claims = spec.out / "claims"
    claims.mkdir(parents=True, exist_ok=True)
    for i in range(spec.workers):
        try:
            os.close(os.open(claims / f"worker-{i}", os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            continue
        return i
    raise UsageError(f"all {spec.workers} worker indexes under {claims} are claimed: start a fresh --out folder")
