"""Helpers the tests share (and only this module: a test module imports no other test module's helpers):
the `sandbox` command as a subprocess, the one-line-error check, namespaces, a native stack of a test's own,
the strategy tests' stores, and the compose files' loaders."""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from sandbox.config import Settings, Workspace, ensure_env_file
from sandbox.errors import SandboxError, UsageError
from sandbox.experiments.registry import Experiments
from sandbox.experiments.strategies.steps import open_stores
from sandbox.measure.timing import TimedStore
from sandbox.scenario.spec import RunParams
from sandbox.stack import open_stack, recorded_backend
from sandbox.stack.native import NativeStack
from sandbox.stores.connect import close_all
from sandbox.stores.kind import Durability
from sandbox.stores.registry import StoreRegistry
from sandbox.strategies.catchup import Workers
from sandbox.strategies.event_sourcing import Projection
from sandbox.workload.dataset import Dataset, Sizes

PROJECT = Path(__file__).resolve().parent.parent
BUILT_IN = StoreRegistry.built_in()
SANDBOX = [sys.executable, "-m", "sandbox"]  # the command, with the interpreter running the tests
EXPERIMENTS = Experiments.built_in()
STEPS = EXPERIMENTS.steps()
PRIVATE_OFFSET = 5000  # a test that kills servers runs its own stack this far above the configured ports
SECURITY_OFFSET = 800  # the security tests' stack (TLS, secrets of its own): tests/conftest.py secure_stack


# -- the command -------------------------------------------------------------------------------------
def sandbox(*args: str, env: dict[str, str] | None = None, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run([*SANDBOX, *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "SANDBOX_PROJECT_DIR": str(PROJECT), **(env or {})})


def assert_usage_error(proc: subprocess.CompletedProcess, *words: str) -> None:
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    for word in words:
        assert word in lines[0], lines[0]


def validate_phase(step: str, params: dict, run: RunParams) -> None:
    """A phase's parameters checked against the run, as the runner does before anything connects."""
    if problem := STEPS.check(step, params):
        raise UsageError(problem)
    STEPS.validate(step, params, run.validated(BUILT_IN), BUILT_IN)


def new_namespace() -> str:
    return f"sbx_test_{secrets.token_hex(4)}"


# -- a native stack of a test's own --------------------------------------------------------------------
@dataclass
class Throwaway:
    """A native stack of a test's own, on shifted ports and a temporary state dir: tests that stop or kill
    servers use one, so the shared stack other tests use is never touched."""

    ws: Workspace
    stack: NativeStack
    settings: Settings
    env: dict[str, str]  # for `sandbox` subprocesses that should use this stack

    def port(self, store: str) -> int:
        return self.ws.shifted(self.stack.registry.kind(store).port or 0)


@contextlib.contextmanager
def throwaway_stack(state_dir: Path, extra_offset: int, stores: list[str] | None = None,
                    durability: Durability | None = None, tls: bool = False,
                    secrets_file: Path | None = None) -> Iterator[Throwaway]:
    """`tls`: the servers with certificates of the stack's own CA; `secrets_file`: a compose/.env of its own
    (created with random secrets when missing), instead of the project's."""
    base = Workspace.from_env(dict(os.environ))
    ws = Workspace(base.project_dir, state_dir, state_dir / "results", base.port_offset + extra_offset, secrets_file)
    registry = StoreRegistry.built_in()
    stack = NativeStack(ws, ensure_env_file(ws.env_file, registry.kinds.values()), registry, durability)
    env = {"SANDBOX_STATE_DIR": str(state_dir), "SANDBOX_PORT_OFFSET": str(ws.port_offset),
           "SANDBOX_RESULTS_DIR": str(ws.results_dir), **({"SANDBOX_ENV_FILE": str(secrets_file)} if secrets_file
                                                         else {})}
    try:
        if stores:
            stack.up(stores, tls=tls)
        yield Throwaway(ws, stack, registry.settings("native", ws), env)
    finally:
        stack.down(purge=True)


def distinctive_secrets(path: Path) -> dict[str, str]:
    """A compose/.env of its own whose every secret is a value found nowhere else (tests/test_secret_scan.py
    looks for them in everything a run leaves): the kinds' secrets, URL-safe as .env.example asks."""
    values = {key: f"Zq{key.title().replace('_', '')}{secrets.token_hex(10)}"
              for kind in BUILT_IN.kinds.values() for key in kind.secrets}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{k}={v}\n" for k, v in values.items()))
    path.chmod(0o600)
    ensure_env_file(path, BUILT_IN.kinds.values())  # the fixed values (users, org) too
    return values


@dataclass
class SecureStack:
    """The security tests' stack: every server `sandbox up` starts (the brokers too: `status` checks them), TLS
    from the stack's own CA where the server speaks it, and distinctive secrets in a secrets file of its own."""

    t: Throwaway
    secrets: dict[str, str]

    @property
    def ca(self) -> Path:
        return self.t.ws.state_dir / "tls" / "ca.pem"


@contextlib.contextmanager
def secure_stack(root: Path) -> Iterator[SecureStack]:
    values = distinctive_secrets(root / "secrets.env")
    with throwaway_stack(root / "state", SECURITY_OFFSET, list(BUILT_IN.started), tls=True,
                         secrets_file=root / "secrets.env") as t:
        yield SecureStack(t, values)


@contextlib.contextmanager
def private_stack(stores: list[str]) -> Iterator[tuple[NativeStack, Settings]]:
    """A native stack of its own (ports shifted, state in a fresh directory), always taken down."""
    with tempfile.TemporaryDirectory(prefix="sbx-strategies-") as tmp, \
            throwaway_stack(Path(tmp) / "state", PRIVATE_OFFSET, stores) as t:
        yield t.stack, t.settings


def admin_url(settings: Settings, store: str) -> str:
    """The stack's administrative login on the shared stack's server of `store`, for what a test does beyond the
    run's login (plant data outside sbx_*, read server settings); fails when `settings` point elsewhere."""
    ws = Workspace.from_env(dict(os.environ))
    stack = open_stack(recorded_backend(ws.state_dir) or "native", ws,
                       ensure_env_file(ws.env_file, BUILT_IN.kinds.values()), BUILT_IN)
    url = settings.values[f"{store}_url"]
    assert stack.owns(store, url), f"{store} at {url} is not the shared stack's own server"
    return stack.admin_url(store)


# -- the strategy tests --------------------------------------------------------------------------------
def orders(seed: int, count: int, **reference: int) -> Dataset:
    """The orders model's data for a seed: `count` orders, reference entities at the model's counts or these."""
    return Dataset(model("orders"), seed, Sizes(count, reference or None))


def shared_settings() -> Settings:
    ws = Workspace.from_env(dict(os.environ))
    return StoreRegistry.built_in().settings("native", ws)


async def connect(settings: Settings, names: list[str], namespace: str, dataset: Dataset) -> dict[str, TimedStore]:
    """Connected model stores of the dataset's model, or a failing test that says how to start the stores."""
    try:
        return await open_stores(settings, names, namespace, dataset, 20, 10.0)
    except SandboxError as exc:
        pytest.fail(f"{exc} (the strategy tests need the native stack: `make up`)")


async def drop(stores: dict[str, TimedStore]) -> None:
    await close_all([ts.store for ts in stores.values()], keep=False, notes=[])


async def catch_up(projections: Iterable[Projection], timeout_s: float) -> bool:
    """Run the projections' background loops, as EventSourcing does, until all have caught up."""
    chosen = list(projections)
    workers = Workers()
    workers.start(p.loop.run(workers) for p in chosen)

    async def all_caught_up() -> bool:
        return all([await p.caught_up() for p in chosen])

    try:
        return await workers.settle(all_caught_up, timeout_s)
    finally:
        await workers.stop()


# -- the compose files ---------------------------------------------------------------------------------
COMPOSE = PROJECT / "compose" / "docker-compose.yml"
ENV_EXAMPLE = PROJECT / "compose" / ".env.example"
SECRET_NAME = re.compile(r"PASSWORD|TOKEN|SECRET|(^|_)AUTH$")
# Secrets must be required interpolations: a `:-default` would ship a known password.
REQUIRED_VAR = re.compile(r"^\$\{[A-Z][A-Z0-9_]*:\?[^}]*\}$")
# `$${` is Compose's escape for a literal `${`, not an interpolation.
INTERPOLATION = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)")


def load(path: Path) -> dict:
    return YAML(typ="safe").load(path.read_text())


def check_jsonschema(path: Path) -> subprocess.CompletedProcess[str]:
    # The one installed with this interpreter, so the schema version follows the venv's pin.
    exe = shutil.which("check-jsonschema", path=str(Path(sys.executable).parent))
    if exe is None:
        pytest.fail(f"check-jsonschema is missing next to {sys.executable}: run `pip install -e .[dev]`")
    return subprocess.run([exe, "--builtin-schema", "vendor.compose-spec", str(path)],
                          capture_output=True, text=True, timeout=120)


_MODELS: dict[str, object] = {}


def model(name: str = "orders"):  # type: ignore[no-untyped-def]
    """A shipped model, loaded once per test session."""
    from sandbox.workload.model_file import load as load_model

    if name not in _MODELS:
        _MODELS[name] = load_model(PROJECT / "models" / f"{name}.toml")
    return _MODELS[name]


def dataset(count: int, seed: int = 7, name: str = "orders"):  # type: ignore[no-untyped-def]
    from sandbox.workload.dataset import Dataset, Sizes

    return Dataset(model(name), seed, Sizes(count))


def noop_store(namespace: str = "test"):  # type: ignore[no-untyped-def]
    """The no-op model store (answers at once), for timing the harness without a server."""
    from sandbox.config import Endpoint
    from sandbox.stores.noop.model_store import NoopModelStore

    return NoopModelStore(Endpoint("noop", "noop://"), namespace, model(), {})
