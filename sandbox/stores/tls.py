"""TLS as the stores' clients see it: the https stores' URL forms and SSL context, what a refused
certificate means in one line, and what each connection of a run verified (for the results).

Each store kind says how its URL asks for TLS (`StoreKind.tls`, a secure.TlsForms from its folder's tls.py);
the clients that take the CA from the URL (asyncpg, redis-py, pymongo) need nothing more, the https stores'
clients build their context here from the endpoint's CA-file setting.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

from sandbox.config import Endpoint, Settings, endpoint
from sandbox.secure import TlsForms, mask, query_value
from sandbox.stores.registry import registry_of

CA_FILE = "ca_file"  # the https stores' setting: SANDBOX_<STORE>_CA_FILE / <store>_ca_file
VERIFIED, CA_ONLY, NOT_VERIFIED, OFF = "verified", "verified CA only (not the host name)", "not verified", "off"
OPPORTUNISTIC = "opportunistic"  # TLS if the server offers it, never verified (libpq's sslmode=prefer)


def _https(url: str, ca: str) -> str:
    parts = urlsplit(url)
    return parts._replace(scheme="https").geturl() if parts.scheme == "http" else url


def _https_state(url: str, settings: Mapping[str, Any], insecure: bool) -> str:
    if urlsplit(url).scheme != "https":
        return OFF
    return NOT_VERIFIED if insecure else VERIFIED


# http(s) stores (Elasticsearch, InfluxDB): https:// in the URL, the CA file in the `ca_file` setting; --insecure
# is the endpoint's flag, which https_context reads.
HTTPS_FORMS = TlsForms(verified=_https, unverified=lambda url: url, state=_https_state, ca_setting=CA_FILE)


def https_context(ep: Endpoint) -> ssl.SSLContext | None:
    """The SSL context of an https store's client: None for http://; verified against the endpoint's CA file (or
    the system's CAs) with the host name checked; neither with --insecure."""
    if urlsplit(ep.url).scheme != "https":
        return None
    if ep.insecure:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    return ssl.create_default_context(cafile=ep.settings.get(CA_FILE) or None)


# What a TLS handshake failure says, whichever client wrapped it (asyncpg raises it, redis-py and aiohttp wrap
# it, pymongo folds it into a server-selection timeout's text).
CAUSES = (("Hostname mismatch", "the server's certificate does not name this host"),
          ("IP address mismatch", "the server's certificate does not name this address"),
          ("unable to get local issuer certificate", "the server's certificate is not signed by the CA given"),
          ("self-signed certificate in certificate chain", "the server's certificate is not signed by the CA given"),
          ("self signed certificate in certificate chain", "the server's certificate is not signed by the CA given"),
          ("certificate has expired", "the server's certificate has expired"),
          ("certificate verify failed", "the server's certificate could not be verified"),
          ("WRONG_VERSION_NUMBER", "the server does not speak TLS on this port"),
          ("server does not support SSL", "the server does not speak TLS"),
          ("rejected SSL upgrade", "the server does not speak TLS"))


def tls_failure(exc: BaseException) -> str | None:
    """Why a TLS handshake failed, in words (None: not a TLS failure): the exception, its causes and context."""
    seen: list[BaseException] = []
    todo: list[BaseException | None] = [exc]
    while todo:
        e = todo.pop()
        if e is None or any(e is s for s in seen) or len(seen) > 20:
            continue
        seen.append(e)
        todo += [e.__cause__, e.__context__, *(a for a in e.args if isinstance(a, BaseException))]
    text = " ".join(f"{type(e).__name__}: {e}" for e in seen)
    for needle, meaning in CAUSES:
        if needle in text:
            verify = next((e for e in seen if isinstance(e, ssl.SSLCertVerificationError)), None)
            detail = getattr(verify, "verify_message", None) or needle
            return f"{meaning} ({detail})"
    return None


def quiet_abandoned_handshakes() -> None:
    """Keep a TLS handshake the run gave up on from printing a traceback: a connect cancelled (its timeout, or
    another store's refusal ended the run) leaves the event loop's SSL protocol holding a failed future nobody
    awaits, which asyncio reports at exit as "Future exception was never retrieved". The failure that mattered is
    already the run's one line; everything else still reaches the loop's handler."""
    loop = asyncio.get_running_loop()
    previous = loop.get_exception_handler()
    if getattr(previous, "quiets_handshakes", False):
        return

    def handler(lp: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if isinstance(context.get("exception"), ssl.SSLError) and "never retrieved" in str(context.get("message")):
            return
        if previous is not None:
            previous(lp, context)
        else:
            lp.default_exception_handler(context)

    handler.quiets_handshakes = True  # type: ignore[attr-defined]
    loop.set_exception_handler(handler)


def refused_line(store: str, url: str, ca: str | None, reason: str) -> str:
    """The one line a refused TLS connection ends in."""
    where = f" (CA file {ca})" if ca else ""
    return (f"{store}: TLS refused at {mask(url)}{where}: {reason}; point the URL at the right CA file and host "
            f"name (docs/security.md), or pass --insecure to skip verification")


def ca_of(settings: Settings, store: str) -> str | None:
    """The CA file a store's connection verifies against, as configured (URL parameter or setting)."""
    return ca_in(endpoint(settings, store))


def ca_in(ep: Endpoint) -> str | None:
    for key in ("sslrootcert", "ssl_ca_certs", "tlsCAFile"):
        if (value := query_value(ep.url, key)) is not None:
            return value
    return ep.settings.get(CA_FILE)


def tls_states(settings: Settings, stores: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Each store's TLS as its connection asked for it: verified, not verified (and why) or off; for summary.json."""
    out: dict[str, dict[str, Any]] = {}
    for name in stores:  # "mongo:referenced": the kind's connection
        kind_name = name.partition(":")[0]
        kind = registry_of(settings).kind(kind_name)
        ep = endpoint(settings, kind_name)
        state = kind.tls.state(ep.url, ep.settings, settings.insecure) if kind.tls else "unknown (no TLS forms)"
        out[name] = {"state": state, "ca_file": ca_of(settings, kind_name) if state != OFF else None,
                     "insecure_option": settings.insecure}
    return out


def tls_warnings(states: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """The results' warning when a connection encrypts without checking whom it talks to."""
    loose = [n for n, s in states.items() if s["state"] in (NOT_VERIFIED, CA_ONLY)]
    if not loose:
        return []
    why = " (--insecure)" if any(states[n]["insecure_option"] for n in loose) else " (as their URLs ask)"
    return [f"WARNING: TLS certificates not fully verified for {', '.join(loose)}{why}: a server impersonating "
            "them would not be noticed"]
