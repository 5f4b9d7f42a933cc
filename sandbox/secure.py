"""What configuration knows of secrets and TLS: URLs with their passwords masked (the userinfo's and a query
parameter's) or their query rewritten, how a store's URL asks for TLS (TlsForms), and where the native stack keeps
its throwaway certificates (TlsFiles). Imports nothing of the sandbox: the bottom layer, beside errors."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

SECRET_QUERY = ("password", "pass", "p", "token", "secret", "sslpassword", "access_token", "api_key")


def mask(url: str) -> str:
    """The URL with any password replaced by ***, for logs and reports: the userinfo's, and a query
    parameter that carries one (`?password=`, InfluxDB 1.x's `&p=`)."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:  # not a URL (a bad port): show none of it that could hold a secret
        return url.split("@", 1)[-1] if "@" in url else url
    pairs = parse_qsl(parts.query, keep_blank_values=True) if parts.scheme else []
    if any(k.lower() in SECRET_QUERY for k, _ in pairs):
        parts = parts._replace(query=urlencode([(k, "***" if k.lower() in SECRET_QUERY else v) for k, v in pairs],
                                               safe="/*:"))
        if password is None:
            return urlunsplit(parts)
    if password is None:
        return url
    userinfo = f"{parts.username}:***" if parts.username else ":***"
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{userinfo}@{host}"))


def with_query(url: str, drop: Iterable[str] = (), **add: str) -> str:
    """The URL with query parameters `drop` removed and `add` set (TLS forms of the stores' URLs)."""
    parts = urlsplit(url)
    gone = {*drop, *add}
    kept = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in gone]
    return urlunsplit(parts._replace(query=urlencode([*kept, *add.items()], safe="/:")))


def query_value(url: str, name: str) -> str | None:
    """The last value of a query parameter, None when it is absent."""
    found = [v for k, v in parse_qsl(urlsplit(url).query, keep_blank_values=True) if k == name]
    return found[-1] if found else None


@dataclass(frozen=True)
class TlsForms:
    """How a store's URL (and settings) ask for TLS, so the sandbox can write its own servers' TLS URLs, turn
    verification off where --insecure says so, and record in the results what each connection checked."""

    verified: Callable[[str, str], str]  # (URL, CA file) -> the URL asking for TLS verified against that CA
    unverified: Callable[[str], str]  # URL -> the same URL without certificate verification (--insecure)
    # (URL, the kind's settings, insecure) -> "verified", "not verified" or "off" (plain text on the wire)
    state: Callable[[str, Mapping[str, Any], bool], str]
    ca_setting: str | None = None  # where the CA file goes when the URL cannot carry it (the https stores)


@dataclass(frozen=True)
class TlsFiles:
    """The throwaway CA and server certificate the native stack's servers present (`sandbox up --tls`)."""

    folder: Path

    @property
    def ca(self) -> Path:
        return self.folder / "ca.pem"

    @property
    def cert(self) -> Path:
        return self.folder / "server.pem"

    @property
    def key(self) -> Path:
        return self.folder / "server.key"

    @property
    def switch(self) -> Path:  # present while the stack runs with TLS
        return self.folder / "on"


def tls_folder(state_dir: Path) -> TlsFiles:
    return TlsFiles(state_dir / "tls")


def tls_files(state_dir: Path) -> TlsFiles | None:
    """The certificates of a native stack that runs with TLS, None when it runs without."""
    files = tls_folder(state_dir)
    return files if files.switch.exists() else None
