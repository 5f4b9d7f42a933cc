"""The Elasticsearch client's TLS options from an endpoint: for https://, the SSL context of stores/tls.py (the
`ca_file` setting's CA, or the system's; none checked with --insecure). Every client of this folder takes them."""

from __future__ import annotations

from typing import Any

from sandbox.config import Endpoint
from sandbox.stores.tls import https_context


def client_tls(ep: Endpoint) -> dict[str, Any]:
    """Keyword arguments for AsyncElasticsearch (nothing for http://)."""
    context = https_context(ep)
    return {} if context is None else {"ssl_context": context}
