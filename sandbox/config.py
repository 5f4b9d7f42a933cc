"""Where the stores are: endpoints and credentials as validated configuration.

Precedence: a config file named with --config (TOML), then SANDBOX_* environment variables,
then the chosen backend's defaults. Defaults are the same loopback ports on both backends;
secrets come from compose/.env, which is never committed. No store is named here: each store kind
(sandbox/stores/<name>/) declares its keys, schemes and defaults, and the kinds are passed in.
"""

from __future__ import annotations

import importlib
import os
import secrets
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit

from dotenv import dotenv_values

from sandbox.errors import UsageError
from sandbox.secure import TlsForms, mask

Backend = Literal["docker", "native"]
T = TypeVar("T")
PLUGINS_ENV = "SANDBOX_STORE_PLUGINS"  # module:attr[,module:attr]: store kinds from outside the package
PLUGINS_KEY = "store_plugins"  # the same, as a config-file key (a list of module:attr strings)
EXPERIMENT_PLUGINS_ENV = "SANDBOX_EXPERIMENT_PLUGINS"  # module:attr[,...]: experiments from outside the package
EXPERIMENT_PLUGINS_KEY = "experiment_plugins"
OPTIONS_KEY = "options"  # the config file's store options: {"<store>.<option>" = "<value>"}


@dataclass(frozen=True)
class Setting:
    """A store setting beside its URL: config key `<store>_<name>`, environment SANDBOX_<STORE>_<NAME>."""

    name: str
    default: Callable[[Backend, Mapping[str, str]], Any] = lambda backend, env: None
    parse: Callable[[str], Any] = str  # from the text of an environment variable
    secret: bool = False  # masked wherever settings are shown


@dataclass(frozen=True, kw_only=True)
class StoreConfig:
    """What configuration must know of a store kind (sandbox.stores.kind.StoreKind adds the rest)."""

    name: str
    port: int | None = None  # host port on both backends before SANDBOX_PORT_OFFSET; None: no server
    schemes: tuple[str, ...] = ()
    hostless_schemes: tuple[str, ...] = ()  # schemes whose URL names no host (unix sockets)
    default_url: Callable[[Backend, Mapping[str, str], int], str]  # (backend, compose/.env, shifted port)
    settings: tuple[Setting, ...] = ()
    secrets: tuple[str, ...] = ()  # compose/.env keys generated with random values
    env_values: tuple[tuple[str, str], ...] = ()  # fixed compose/.env lines
    in_default_set: bool = True  # part of "all stores" (up, status, run without --stores)
    # Started by `sandbox up` without --stores although not in the default set (the brokers: servers the
    # experiments use beside the stores, never written to as stores). None: as in_default_set says.
    started_by_default: bool | None = None
    tls: TlsForms | None = None  # how its URL asks for TLS; None: the sandbox cannot ask it for TLS
    # The stack's own administrative login on its server (backend, compose/.env, shifted port), for what the
    # stack does and the run may not (durability settings, replicas, memory caps); None: the default URL is it.
    admin_url: Callable[[Backend, Mapping[str, str], int], str] | None = None

    def check_url(self, value: str) -> None:
        parts = urlsplit(value)
        if parts.scheme not in self.schemes or (not parts.netloc and parts.scheme not in self.hostless_schemes):
            raise ValueError(f"expected a {' or '.join(s + '://' for s in self.schemes)} URL, got {mask(value)!r}")


# Shifted by this, the highest port any store kind declares (its replicas' included) must stay a port number
# (65535): tests/test_config.py holds the kinds to it.
MAX_PORT_OFFSET = 38000


@dataclass(frozen=True)
class Workspace:
    """Where the sandbox keeps things: compose files, server state, secrets, results."""

    project_dir: Path
    state_dir: Path
    results_dir: Path
    port_offset: int = 0
    secrets_file: Path | None = None  # SANDBOX_ENV_FILE: the secrets of a second stack; default compose/.env

    @classmethod
    def from_env(cls, environ: dict[str, str]) -> Workspace:
        project = Path(environ.get("SANDBOX_PROJECT_DIR", ".")).resolve()
        offset = environ.get("SANDBOX_PORT_OFFSET", "0")
        if not offset.isdigit() or int(offset) > MAX_PORT_OFFSET:
            raise UsageError(f"SANDBOX_PORT_OFFSET: expected a whole number from 0 to {MAX_PORT_OFFSET}, "
                             f"got {offset!r}")
        given = environ.get("SANDBOX_ENV_FILE")
        return cls(project, Path(environ.get("SANDBOX_STATE_DIR", project / ".sandbox")).resolve(),
                   Path(environ.get("SANDBOX_RESULTS_DIR", project / "results")).resolve(), int(offset),
                   Path(given).resolve() if given else None)

    @property
    def env_file(self) -> Path:
        return self.secrets_file or self.project_dir / "compose" / ".env"

    def shifted(self, port: int) -> int:
        return port + self.port_offset

class Settings:
    """Every store kind's URL and settings, by config key (`<store>_url`, `<store>_token`, ...); `insecure`: TLS
    certificates are not verified (--insecure), and the results say so."""

    def __init__(self, kinds: Mapping[str, StoreConfig], values: dict[str, Any], insecure: bool = False):
        self.kinds = kinds
        self.values = values
        self.insecure = insecure

    def __getattr__(self, key: str) -> Any:
        try:
            return self.__dict__["values"][key]
        except KeyError:
            raise AttributeError(key) from None

    def __repr__(self) -> str:
        # Settings end up in tracebacks and logs: never with a password in them.
        secret = {f"{k.name}_{s.name}" for k in self.kinds.values() for s in k.settings if s.secret}
        shown = {key: mask(v) if isinstance(v, str) and "://" in v else ("***" if key in secret and v else v)
                 for key, v in self.values.items()}
        return f"Settings({shown})"


@dataclass(frozen=True)
class Endpoint:
    store: str
    url: str
    settings: dict[str, Any] = field(default_factory=dict)  # the kind's own settings (token, org, ...)
    insecure: bool = False  # --insecure: TLS without certificate verification (clients configured apart)

    def __str__(self) -> str:
        return mask(self.url)

    def __repr__(self) -> str:
        return f"Endpoint({self.store!r}, {mask(self.url)!r})"


def ensure_env_file(path: Path, kinds: Iterable[StoreConfig]) -> dict[str, str]:
    """Read compose/.env, creating it with random secrets (mode 600) when it does not exist, and adding the
    secrets and values a kind declares that an older file lacks (a new admin password, say)."""
    kinds = list(kinds)
    existing = {k: v for k, v in dotenv_values(path).items() if v is not None} if path.exists() else {}
    lines = [] if path.exists() else ["# Generated by `sandbox up`; never commit this file."]
    for kind in kinds:
        lines += [f"{key}={secrets.token_urlsafe(18)}" for key in kind.secrets if key not in existing]
        lines += [f"{key}={value}" for key, value in kind.env_values if key not in existing]
    if lines:
        path.parent.mkdir(parents=True, exist_ok=True)
        before = path.read_text() if path.exists() else ""
        path.write_text(before + ("" if not before or before.endswith("\n") else "\n") + "\n".join(lines) + "\n")
        path.chmod(0o600)
    return {k: v for k, v in dotenv_values(path).items() if v is not None}


def read_config_file(config_file: Path | None) -> dict[str, Any]:
    if config_file is None:
        return {}
    try:
        return tomllib.loads(config_file.read_text())
    except FileNotFoundError:
        raise UsageError(f"config file {config_file} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"config file {config_file} is not valid TOML: {exc}") from None


def plugin_refs(environ: Mapping[str, str], given: Mapping[str, Any], key: str = PLUGINS_KEY,
                env: str = PLUGINS_ENV) -> list[str]:
    """The `module:attr` plugins named by the config file's `key`, then by the variable `env` (store kinds by
    default; experiments with EXPERIMENT_PLUGINS_KEY / _ENV)."""
    from_file = given.get(key, [])
    if isinstance(from_file, str):
        from_file = [from_file]
    if not isinstance(from_file, list) or not all(isinstance(r, str) for r in from_file):
        raise UsageError(f"{key}: expected a list of \"module:attribute\" strings")
    from_env = [r.strip() for r in environ.get(env, "").split(",") if r.strip()]
    return list(dict.fromkeys([*from_file, *from_env]))


def import_plugin(ref: str, what: str, cls: type[T], example: str) -> T:
    """The object a `module:attribute` plugin names, of type `cls`; one UsageError line when it is not."""
    module_name, sep, attr = ref.partition(":")
    if not sep or not module_name or not attr:
        raise UsageError(f"{what} plugin {ref!r}: expected module:attribute, e.g. {example}")
    try:
        found = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise UsageError(f"{what} plugin {ref}: cannot import it ({exc}); check the name and PYTHONPATH") from None
    if not isinstance(found, cls):
        raise UsageError(f"{what} plugin {ref}: expected a {cls.__module__}.{cls.__name__}, got "
                         f"{type(found).__name__}")
    return found


def load_settings(backend: Backend, ws: Workspace, kinds: Mapping[str, StoreConfig],
                  config_file: Path | None = None, environ: Mapping[str, str] | None = None,
                  tls: Mapping[str, str] | None = None, insecure: bool = False) -> Settings:
    """Validated settings; any bad key becomes one UsageError naming the key and what it expects.

    Precedence per key: the config file, then SANDBOX_<KEY>, then the backend's default. `tls`: the stores
    whose default servers speak TLS, with the CA file their URLs are to verify against (the native stack
    with `up --tls`); `insecure`: every URL that asks for TLS stops verifying certificates (--insecure)."""
    tls = tls or {}
    given = read_config_file(config_file)
    environ = os.environ if environ is None else environ
    env = {k: v for k, v in (dotenv_values(ws.env_file) if ws.env_file.exists() else {}).items() if v}
    values: dict[str, Any] = {}

    def source(key: str) -> tuple[str, Any] | None:
        if given.get(key) is not None:
            return f"{config_file}: {key}", given[key]
        if environ.get(f"SANDBOX_{key.upper()}"):
            return f"SANDBOX_{key.upper()}", environ[f"SANDBOX_{key.upper()}"]
        return None

    for kind in kinds.values():
        key = f"{kind.name}_url"
        if found := source(key):
            where, url = found
            try:
                if not isinstance(url, str):
                    raise ValueError(f"expected a URL string, got {type(url).__name__}")
                kind.check_url(url)
            except ValueError as exc:
                raise UsageError(f"{where}: {exc}") from None
            values[key] = url
        else:
            values[key] = kind.default_url(backend, env, ws.shifted(kind.port) if kind.port else 0)
            if kind.tls is not None and kind.name in tls:
                values[key] = kind.tls.verified(values[key], tls[kind.name])
        if insecure and kind.tls is not None:
            values[key] = kind.tls.unverified(values[key])
        for setting in kind.settings:
            key = f"{kind.name}_{setting.name}"
            if found := source(key):
                where, raw = found
                try:
                    values[key] = setting.parse(raw) if isinstance(raw, str) else raw
                except ValueError as exc:
                    raise UsageError(f"{where}: {exc}") from None
            else:
                values[key] = setting.default(backend, env)
                if kind.tls is not None and setting.name == kind.tls.ca_setting and kind.name in tls \
                        and source(f"{kind.name}_url") is None:  # the CA of the sandbox's own server
                    values[key] = tls[kind.name]
    return Settings(kinds, values, insecure)


def endpoint(settings: Settings, store: str) -> Endpoint:
    kind = settings.kinds[store]
    return Endpoint(store, settings.values[f"{store}_url"],
                    {s.name: settings.values[f"{store}_{s.name}"] for s in kind.settings}, settings.insecure)


def parse_bool(text: str) -> bool:
    value = {"1": True, "true": True, "yes": True, "on": True, "0": False, "false": False, "no": False,
             "off": False}.get(text.strip().lower())
    if value is None:
        raise ValueError(f"expected true or false, got {text!r}")
    return value


def parse_stores(text: str, known: Iterable[str]) -> list[str]:
    """`a,b` -> ['a', 'b'], rejecting names no store kind has."""
    known = tuple(known)
    names = [s.strip() for s in text.split(",") if s.strip()]
    unknown = [n for n in names if n.partition(":")[0] not in known]
    if unknown or not names:
        raise UsageError(f"unknown store {', '.join(unknown) or '(none)'}: choose from {','.join(known)}")
    return list(dict.fromkeys(names))
