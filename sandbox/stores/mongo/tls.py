"""How a MongoDB URL asks for TLS (the connection-string options every driver reads):
`tls=true&tlsCAFile=<CA file>` checks the certificate and the host name; `mongodb+srv://` implies tls=true."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from sandbox.secure import TlsForms, query_value, with_query
from sandbox.stores.tls import CA_ONLY, NOT_VERIFIED, OFF, VERIFIED

TRUE = ("true", "1", "yes")
LOOSE = ("tlsInsecure", "tlsAllowInvalidCertificates", "tlsAllowInvalidHostnames", "tlsDisableOCSPEndpointCheck")


def _on(url: str) -> bool:
    asked = query_value(url, "tls") or query_value(url, "ssl")
    return (asked or "").lower() in TRUE or (asked is None and urlsplit(url).scheme == "mongodb+srv")


def verified(url: str, ca: str) -> str:
    return with_query(url, drop=LOOSE, tls="true", tlsCAFile=ca)


def unverified(url: str) -> str:
    return with_query(url, drop=LOOSE, tlsInsecure="true") if _on(url) else url


def state(url: str, settings: Mapping[str, Any], insecure: bool) -> str:
    if not _on(url):
        return OFF
    if any((query_value(url, k) or "").lower() in TRUE for k in LOOSE[:2]):
        return NOT_VERIFIED
    if (query_value(url, "tlsAllowInvalidHostnames") or "").lower() in TRUE:
        return CA_ONLY
    return VERIFIED


FORMS = TlsForms(verified=verified, unverified=unverified, state=state)
