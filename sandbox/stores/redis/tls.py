"""How a Redis URL asks for TLS (redis-py's URL parameters): `rediss://…?ssl_ca_certs=<CA file>` checks the
certificate and, by redis-py's default, the host name."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from sandbox.secure import TlsForms, query_value, with_query
from sandbox.stores.tls import CA_ONLY, NOT_VERIFIED, OFF, VERIFIED


def verified(url: str, ca: str) -> str:
    parts = urlsplit(url)
    return with_query(parts._replace(scheme="rediss").geturl() if parts.scheme == "redis" else url,
                      drop=("ssl_cert_reqs", "ssl_check_hostname"), ssl_ca_certs=ca)


def unverified(url: str) -> str:
    if urlsplit(url).scheme != "rediss":
        return url
    return with_query(url, drop=("ssl_ca_certs", "ssl_check_hostname"), ssl_cert_reqs="none")


def state(url: str, settings: Mapping[str, Any], insecure: bool) -> str:
    if urlsplit(url).scheme != "rediss":
        return OFF
    if (query_value(url, "ssl_cert_reqs") or "required").lower() in ("none", "optional"):
        return NOT_VERIFIED
    if (query_value(url, "ssl_check_hostname") or "true").lower() in ("false", "0", "no", "n", "off"):
        return CA_ONLY
    return VERIFIED


FORMS = TlsForms(verified=verified, unverified=unverified, state=state)
