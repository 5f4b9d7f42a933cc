"""Elasticsearch's async client as the sandbox opens it (major pinned to the server's), and who answered."""

from __future__ import annotations

from typing import Any

from elastic_transport import AiohttpHttpNode, HttpHeaders
from elasticsearch import AsyncElasticsearch

from sandbox.config import Endpoint
from sandbox.stores.contract import ServerInfo
from sandbox.stores.elastic.tls import client_tls


def plain_json(headers: Any) -> HttpHeaders:
    """The request's headers with plain application/json instead of the 'compatible-with=9' vendor media type.

    Elasticsearch accepts both; OpenSearch (and the osmem stand-in) answer 406 to the vendor type.
    """
    headers = HttpHeaders(headers or {})
    for name in ("accept", "content-type"):
        value = headers.get(name, "")
        if "vnd.elasticsearch+" in value:  # +json, or +x-ndjson for _bulk
            headers[name] = "application/x-ndjson" if "x-ndjson" in value else "application/json"
    return headers


class PlainJsonNode(AiohttpHttpNode):
    """The client's default aiohttp node, sending plain_json() headers."""

    async def perform_request(self, method, target, body=None, headers=None, **kwargs):  # type: ignore[override]
        return await super().perform_request(method, target, body=body, headers=plain_json(headers), **kwargs)


def open_client(endpoint: Endpoint, connections: int) -> AsyncElasticsearch:
    """The async client, through PlainJsonNode unless the endpoint's plain_json setting is off; over https://
    verified against the endpoint's CA file (tls.py)."""
    plain = endpoint.settings.get("plain_json", True)
    node_class: type[AiohttpHttpNode] = PlainJsonNode if plain else AiohttpHttpNode
    return AsyncElasticsearch(endpoint.url, node_class=node_class, connections_per_node=connections,
                              request_timeout=30, **client_tls(endpoint))


def server_info(info: dict[str, Any]) -> ServerInfo:
    """Who answered GET /: Elasticsearch, OpenSearch, or the osmem emulator of OpenSearch's API."""
    version = info.get("version", {})
    distribution = version.get("distribution")
    if distribution == "opensearch":
        emulator = " emulator (osmem)" if version.get("build_hash") == "osmem" else ""
        return ServerInfo("OpenSearch API" + emulator, version.get("number", "?"),
                          f"stand-in for Elasticsearch; cluster {info.get('cluster_name')}")
    return ServerInfo("Elasticsearch", version.get("number", "?"), f"cluster {info.get('cluster_name')}")
