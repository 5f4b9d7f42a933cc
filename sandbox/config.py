"""Where the stores are: endpoints and credentials as validated configuration.

Precedence: a config file named with --config (TOML), then SANDBOX_* environment variables,
then the chosen backend's defaults. Defaults are the same loopback ports on both backends;
secrets come from compose/.env, which is never committed.
"""

from __future__ import annotations

import secrets
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from dotenv import dotenv_values
from pydantic import ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from sandbox.errors import UsageError

STORE_NAMES: tuple[str, ...] = ("postgres", "mongo", "redis", "elastic", "influx")
Backend = Literal["docker", "native"]

# Host ports, identical for the compose stack and the native processes. SANDBOX_PORT_OFFSET shifts
# them all, so a second native stack (a test's, say) can run beside the first.
PORTS = {"postgres": 15432, "mongo": 27117, "redis": 16379, "elastic": 19200, "influx": 18086}


@dataclass(frozen=True)
class Workspace:
    """Where the sandbox keeps things: compose files, server state, secrets, results."""

    project_dir: Path
    state_dir: Path
    results_dir: Path
    port_offset: int = 0

    @classmethod
    def from_env(cls, environ: dict[str, str]) -> Workspace:
        project = Path(environ.get("SANDBOX_PROJECT_DIR", ".")).resolve()
        offset = environ.get("SANDBOX_PORT_OFFSET", "0")
        if not offset.isdigit() or int(offset) > 30000:
            raise UsageError(f"SANDBOX_PORT_OFFSET: expected a whole number from 0 to 30000, got {offset!r}")
        return cls(project, Path(environ.get("SANDBOX_STATE_DIR", project / ".sandbox")).resolve(),
                   Path(environ.get("SANDBOX_RESULTS_DIR", project / "results")).resolve(), int(offset))

    @property
    def env_file(self) -> Path:
        return self.project_dir / "compose" / ".env"

    def port(self, store: str) -> int:
        return PORTS[store] + self.port_offset

_SCHEMES = {
    "postgres_url": ("postgresql", "postgres"),
    "mongo_url": ("mongodb", "mongodb+srv"),
    "redis_url": ("redis", "rediss", "unix"),
    "elastic_url": ("http", "https"),
    "influx_url": ("http", "https"),
}


class Settings(BaseSettings):
    """Store endpoints. Unset URLs are filled from the backend's defaults by `load_settings`."""

    model_config = SettingsConfigDict(env_prefix="SANDBOX_", extra="ignore")

    postgres_url: str | None = None
    mongo_url: str | None = None
    redis_url: str | None = None
    elastic_url: str | None = None
    influx_url: str | None = None
    influx_token: str | None = None
    influx_org: str | None = None
    # Elasticsearch 9 wants "compatible-with=9" media types; OpenSearch and the osmem stand-in
    # answer 406 to them. Plain application/json works on all three, so it is the default.
    elastic_plain_json: bool = True

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        # Settings end up in tracebacks and logs: never with a password in them.
        for key, value in super().__repr_args__():
            yield key, mask(value) if isinstance(value, str) and "://" in value else \
                ("***" if key == "influx_token" and value else value)

    @field_validator(*_SCHEMES)
    @classmethod
    def _check_scheme(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return value
        allowed = _SCHEMES[str(info.field_name)]
        scheme = urlsplit(value).scheme
        if scheme not in allowed or (not urlsplit(value).netloc and scheme != "unix"):
            raise ValueError(f"expected a {' or '.join(s + '://' for s in allowed)} URL, got {mask(value)!r}")
        return value


@dataclass(frozen=True)
class Endpoint:
    store: str
    url: str
    token: str | None = None
    org: str | None = None
    plain_json: bool = True

    def __str__(self) -> str:
        return mask(self.url)

    def __repr__(self) -> str:
        return f"Endpoint({self.store!r}, {mask(self.url)!r}, token={'***' if self.token else None})"


def mask(url: str) -> str:
    """The URL with any password replaced by ***, for logs and reports."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    userinfo = f"{parts.username}:***" if parts.username else ":***"
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{userinfo}@{host}"))


SECRET_KEYS = ("POSTGRES_PASSWORD", "MONGO_ROOT_PASSWORD", "REDIS_PASSWORD", "INFLUX_ADMIN_PASSWORD",
               "INFLUX_ADMIN_TOKEN")


def ensure_env_file(path: Path) -> dict[str, str]:
    """Read compose/.env, creating it with random secrets (mode 600) when it does not exist."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        lines = ["# Generated by `sandbox up`; never commit this file."]
        lines += [f"{key}={secrets.token_urlsafe(18)}" for key in SECRET_KEYS]
        lines += ["MONGO_ROOT_USER=sandbox", "INFLUX_ORG=sandbox", "INFLUX_BUCKET=sandbox",
                  "INFLUX_ADMIN_USER=sandbox"]
        path.write_text("\n".join(lines) + "\n")
        path.chmod(0o600)
    return {k: v for k, v in dotenv_values(path).items() if v is not None}


def backend_defaults(backend: Backend, env: dict[str, str], ws: Workspace) -> dict[str, str | None]:
    """The URLs a fresh `sandbox up` on this backend serves."""
    pg_pw, redis_pw = env.get("POSTGRES_PASSWORD", ""), env.get("REDIS_PASSWORD", "")
    defaults: dict[str, str | None] = {
        "postgres_url": f"postgresql://sandbox:{pg_pw}@127.0.0.1:{ws.port('postgres')}/sandbox",
        "redis_url": f"redis://:{redis_pw}@127.0.0.1:{ws.port('redis')}/0",
        "elastic_url": f"http://127.0.0.1:{ws.port('elastic')}",
        "influx_url": f"http://127.0.0.1:{ws.port('influx')}",
    }
    if backend == "docker":
        user, pw = env.get("MONGO_ROOT_USER", "sandbox"), env.get("MONGO_ROOT_PASSWORD", "")
        defaults["mongo_url"] = (f"mongodb://{user}:{pw}@127.0.0.1:{ws.port('mongo')}/"
                                 "?directConnection=true&authSource=admin")
        defaults["influx_token"] = env.get("INFLUX_ADMIN_TOKEN")
        defaults["influx_org"] = env.get("INFLUX_ORG", "sandbox")
    else:
        # The MongoDB stand-in runs without auth; InfluxDB 1.6 runs with auth off (loopback only).
        defaults["mongo_url"] = f"mongodb://127.0.0.1:{ws.port('mongo')}/?directConnection=true"
    return defaults


def load_settings(backend: Backend, ws: Workspace, config_file: Path | None = None) -> Settings:
    """Validated settings; any bad key becomes one UsageError naming the key and what it expects."""
    given: dict[str, object] = {}
    if config_file is not None:
        try:
            given = tomllib.loads(config_file.read_text())
        except FileNotFoundError:
            raise UsageError(f"config file {config_file} does not exist") from None
        except tomllib.TOMLDecodeError as exc:
            raise UsageError(f"config file {config_file} is not valid TOML: {exc}") from None
    try:
        settings = Settings(**given)  # type: ignore[arg-type]
    except ValidationError as exc:
        err = exc.errors()[0]
        key = str(err["loc"][0]) if err["loc"] else "?"
        where = f"{config_file}: {key}" if key in given else f"SANDBOX_{key.upper()}"
        raise UsageError(f"{where}: {err['msg'].removeprefix('Value error, ')}") from None
    env = dotenv_values(ws.env_file) if ws.env_file.exists() else {}
    for key, value in backend_defaults(backend, {k: v for k, v in env.items() if v}, ws).items():
        if getattr(settings, key) is None:
            setattr(settings, key, value)
    return settings


def endpoint(settings: Settings, store: str) -> Endpoint:
    url = getattr(settings, f"{store}_url")
    if store == "influx":
        return Endpoint(store, url, settings.influx_token, settings.influx_org)
    if store == "elastic":
        return Endpoint(store, url, plain_json=settings.elastic_plain_json)
    return Endpoint(store, url)


def parse_stores(text: str) -> list[str]:
    """`postgres,mongo` -> ['postgres', 'mongo'], rejecting unknown names."""
    names = [s.strip() for s in text.split(",") if s.strip()]
    unknown = [n for n in names if n not in STORE_NAMES]
    if unknown or not names:
        raise UsageError(f"unknown store {', '.join(unknown) or '(none)'}: choose from {','.join(STORE_NAMES)}")
    return list(dict.fromkeys(names))
