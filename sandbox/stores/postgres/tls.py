"""How a PostgreSQL URL asks for TLS (libpq's parameters, which asyncpg reads from the URL too):
`sslmode=verify-full&sslrootcert=<CA file>` checks the certificate and the host name."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sandbox.secure import TlsForms, query_value, with_query
from sandbox.stores.tls import CA_ONLY, NOT_VERIFIED, OFF, OPPORTUNISTIC, VERIFIED


def verified(url: str, ca: str) -> str:
    return with_query(url, sslmode="verify-full", sslrootcert=ca)


def unverified(url: str) -> str:
    # require: encrypted, no certificate check (libpq's own meaning); a URL that asked for none stays as it is
    if query_value(url, "sslmode") in ("verify-full", "verify-ca"):
        return with_query(url, drop=("sslrootcert",), sslmode="require")
    return url


def state(url: str, settings: Mapping[str, Any], insecure: bool) -> str:
    mode = query_value(url, "sslmode") or "prefer"  # asyncpg's default, as libpq's
    return {"verify-full": VERIFIED, "verify-ca": CA_ONLY, "disable": OFF, "require": NOT_VERIFIED}.get(
        mode, f"{OPPORTUNISTIC} (sslmode={mode}: TLS only if the server offers it, never verified)")


FORMS = TlsForms(verified=verified, unverified=unverified, state=state)
