"""The Redis model store's second client library: valkey-glide (a Rust core, one multiplexed connection per
client), chosen with `-o redis.client=valkey-glide`.

`GlideRedis` answers the part of redis-py's asyncio API the model store, its answerers, analytics, markers,
statistics and migrations call (EVALSHA/EVAL, pipelines as glide Batches: MULTI/EXEC when atomic, HGETALL,
ZRANGE, SCAN, SET NX, INFO, CONFIG GET, ...), with str in and str out as redis-py's decode_responses gives: the
same keys, scripts and batches go to the server whichever client sends them. A script the server lacks raises
redis-py's NoScriptError, so the model store's EVAL fallback works alike. SET without options goes through
glide's own `set` (the bench's SET row measures the library, not this facade).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any
from urllib.parse import urlsplit

from glide import Batch, GlideClient, GlideClientConfiguration, NodeAddress, ServerCredentials
from redis._parsers.helpers import parse_info
from redis.exceptions import NoScriptError

from sandbox.errors import UsageError


def _text(value: Any) -> Any:
    """A glide reply as redis-py's decode_responses gives it: bytes as str, in lists and maps too."""
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, list | tuple):
        return [_text(v) for v in value]
    if isinstance(value, Mapping):
        return {_text(k): _text(v) for k, v in value.items()}
    return value


def _args(values: Any) -> list[str]:
    return [v if isinstance(v, str) else str(v) for v in values]


def _script_error(exc: Exception) -> Exception:
    return NoScriptError(str(exc)) if "NOSCRIPT" in str(exc) else exc


async def connect_glide(url: str, timeout_ms: int = 10_000) -> GlideRedis:
    parts = urlsplit(url)
    if parts.scheme != "redis":
        raise UsageError(f"the valkey-glide client takes redis:// URLs here, got {parts.scheme}://")
    credentials = ServerCredentials(parts.password, parts.username or None) if parts.password else None
    client = await GlideClient.create(GlideClientConfiguration(
        [NodeAddress(parts.hostname or "127.0.0.1", parts.port or 6379)], credentials=credentials,
        database_id=int(parts.path.lstrip("/") or 0), request_timeout=timeout_ms))
    return GlideRedis(client)


class GlidePipeline:
    """A glide Batch queued like a redis-py pipeline: atomic = MULTI/EXEC, else one pipelined round trip."""

    def __init__(self, client: GlideClient, transaction: bool):
        self.client = client
        self.batch = Batch(is_atomic=transaction)

    async def __aenter__(self) -> GlidePipeline:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    def _queue(self, *command: Any) -> GlidePipeline:
        self.batch.custom_command(_args(command))
        return self

    def eval(self, script: str, numkeys: int, *rest: Any) -> GlidePipeline:
        return self._queue("EVAL", script, numkeys, *rest)

    def evalsha(self, sha: str, numkeys: int, *rest: Any) -> GlidePipeline:
        return self._queue("EVALSHA", sha, numkeys, *rest)

    def hgetall(self, key: str) -> GlidePipeline:
        return self._queue("HGETALL", key)

    def zrange(self, key: str, start: int, end: int) -> GlidePipeline:
        return self._queue("ZRANGE", key, start, end)

    def zrevrange(self, key: str, start: int, end: int) -> GlidePipeline:
        return self._queue("ZRANGE", key, start, end, "REV")

    def copy(self, source: str, destination: str, replace: bool = False) -> GlidePipeline:
        return self._queue("COPY", source, destination, *(["REPLACE"] if replace else []))

    async def execute(self) -> list[Any]:
        try:
            replies = await self.client.exec(self.batch, raise_on_error=True)
        except Exception as exc:
            raise _script_error(exc) from exc
        return [_text(r) for r in replies or []]


class GlideRedis:
    """redis-py's asyncio calls the Redis model store makes, over one GlideClient."""

    def __init__(self, client: GlideClient):
        self.raw = client

    async def _call(self, *command: Any) -> Any:
        return _text(await self.raw.custom_command(_args(command)))

    def pipeline(self, transaction: bool = True) -> GlidePipeline:
        return GlidePipeline(self.raw, transaction)

    async def evalsha(self, sha: str, numkeys: int, *rest: Any) -> Any:
        try:
            return await self._call("EVALSHA", sha, numkeys, *rest)
        except Exception as exc:
            raise _script_error(exc) from exc

    async def eval(self, script: str, numkeys: int, *rest: Any) -> Any:
        return await self._call("EVAL", script, numkeys, *rest)

    async def execute_command(self, *command: Any) -> Any:
        return await self._call(*command)

    async def hgetall(self, key: str) -> dict[str, str]:
        got = await self._call("HGETALL", key)
        if isinstance(got, list):  # RESP2: field, value, field, value ...
            return dict(zip(got[::2], got[1::2], strict=True))
        return dict(got or {})

    async def hset(self, key: str, mapping: Mapping[str, Any]) -> int:
        return int(await self._call("HSET", key, *(x for kv in mapping.items() for x in kv)))

    async def zrange(self, key: str, start: int, end: int) -> list[str]:
        return list(await self._call("ZRANGE", key, start, end))

    async def zrevrange(self, key: str, start: int, end: int) -> list[str]:
        return list(await self._call("ZRANGE", key, start, end, "REV"))

    async def srandmember(self, key: str, count: int) -> list[str]:
        return list(await self._call("SRANDMEMBER", key, count))

    async def get(self, key: str) -> str | None:
        return await self._call("GET", key)

    async def set(self, key: str, value: Any, nx: bool = False, px: int | None = None) -> Any:
        if not nx and px is None:
            return await self.raw.set(key, value if isinstance(value, str) else str(value))
        options = [*(["NX"] if nx else []), *(["PX", px] if px is not None else [])]
        return await self._call("SET", key, value, *options)

    async def exists(self, *keys: str) -> int:
        return int(await self._call("EXISTS", *keys))

    async def unlink(self, *keys: str) -> int:
        return int(await self._call("UNLINK", *keys))

    async def scan_iter(self, match: str, count: int = 1000) -> AsyncIterator[str]:
        cursor = "0"
        while True:
            cursor, keys = await self._call("SCAN", cursor, "MATCH", match, "COUNT", count)
            for key in keys:
                yield key
            if cursor == "0":
                return

    async def info(self, section: str = "default") -> dict[str, Any]:
        return parse_info(await self._call("INFO", section))

    async def config_get(self, name: str) -> dict[str, str]:
        got = await self._call("CONFIG", "GET", name)
        return dict(zip(got[::2], got[1::2], strict=True)) if isinstance(got, list) else dict(got)

    async def aclose(self) -> None:
        await self.raw.close()
