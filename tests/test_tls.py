"""TLS end to end on a stack of the tests' own (`up --tls`: a throwaway CA; tests/conftest.py `secured`): the
orders scenario over TLS on every store whose server speaks it, the model stores connecting, the
servers refusing plain text, and each refusal a client must make: a CA that did not sign the certificate, a
certificate for another host, each one line and exit 2; --insecure connects and the results say so."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import shutil
import struct
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import asyncpg
import bson
import pytest
import redis.asyncio as aioredis

from sandbox.config import endpoint
from sandbox.secure import TlsFiles, with_query
from sandbox.stack.tls import ensure_certificates, issue
from sandbox.stores import make_model_store
from sandbox.stores.tls import NOT_VERIFIED, OFF, VERIFIED, https_context
from sandbox.workload.dataset import Dataset, Sizes
from sandbox.workload.model_file import load
from tests.helpers import BUILT_IN, PROJECT, SecureStack, assert_usage_error, sandbox

SPEAKS_TLS = [n for n in BUILT_IN.names if (k := BUILT_IN.kind(n)).native is not None and k.native.serves_tls]
NO_TLS = [n for n in BUILT_IN.names if n not in SPEAKS_TLS]
MODEL_KINDS = [n for n in SPEAKS_TLS if BUILT_IN.kind(n).model_store is not None]
# How a URL (or setting) names the CA file, per store: (the env variable, how to point it at another CA).
CA_IN = {"postgres": ("SANDBOX_POSTGRES_URL", "sslrootcert"), "redis": ("SANDBOX_REDIS_URL", "ssl_ca_certs"),
         "mongo": ("SANDBOX_MONGO_URL", "tlsCAFile"), "influx": ("SANDBOX_INFLUX_CA_FILE", None)}


@pytest.fixture(scope="module")
def other_ca(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    """A CA of the same kind that signed none of the stack's certificates."""
    return ensure_certificates(tmp_path_factory.mktemp("other-ca"))


def _pointed_at(s: SecureStack, store: str, ca: Path) -> dict[str, str]:
    """The environment of a run whose `store` verifies against `ca` instead of the stack's CA."""
    var, param = CA_IN[store]
    if param is None:
        return {**s.t.env, var: str(ca)}
    return {**s.t.env, var: with_query(endpoint(s.t.settings, store).url, **{param: str(ca)})}


def _summary(results: Path, before: set[Path]) -> dict[str, Any]:
    [new] = set(results.glob("*-orders")) - before
    return json.loads((new / "summary.json").read_text())


def test_the_default_urls_verify_the_stacks_ca_and_osmem_says_it_has_no_tls(secured: SecureStack) -> None:
    assert SPEAKS_TLS == ["postgres", "mongo", "redis", "influx"] and NO_TLS == ["elastic"]
    again = sandbox("up", "--tls", env=secured.t.env)
    assert again.returncode == 0, again.stdout + again.stderr
    said = " ".join(again.stdout.split())  # as rich wrapped it
    assert f"TLS: {', '.join(SPEAKS_TLS)} verify against the CA {secured.ca}" in said
    assert "elastic: the osmem stand-in (osmem-server 0.1.6) serves no TLS; plain text on loopback" in said
    plain = sandbox("up", "--no-tls", env=secured.t.env)
    assert_usage_error(plain, "the stack runs with TLS", "stop it with `sandbox down`")


def test_orders_run_consistent_over_tls_on_every_store_that_speaks_it(secured: SecureStack) -> None:
    results = secured.t.ws.results_dir
    before = set(results.glob("*-orders"))
    proc = sandbox("run", "orders", "--orders", "100", "--seed", "8", env=secured.t.env, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr
    assert "WARNING" not in proc.stdout + proc.stderr
    summary = _summary(results, before)
    assert {n: s["state"] for n, s in summary["tls"].items()} == {
        **dict.fromkeys(SPEAKS_TLS, VERIFIED), **dict.fromkeys(NO_TLS, OFF)}
    assert all(summary["tls"][n]["ca_file"] == str(secured.ca) for n in SPEAKS_TLS)
    assert summary["consistent"] is True
    assert all(s["operations"]["write"]["ok"] == 100 for s in summary["stores"].values())


async def test_the_servers_refuse_plain_text(secured: SecureStack) -> None:
    """Over TCP the TLS servers speak TLS only: a client without it does not get in."""
    settings = secured.t.settings
    pg = endpoint(settings, "postgres").url
    with pytest.raises(asyncpg.InvalidAuthorizationSpecificationError, match="no encryption"):
        await asyncpg.connect(with_query(pg, drop=("sslrootcert",), sslmode="disable"))
    plain_redis = aioredis.from_url(endpoint(settings, "redis").url.replace("rediss://", "redis://", 1)
                                    .split("?")[0], socket_timeout=3)
    with pytest.raises(Exception, match=r"Connection|reset|closed"):
        await plain_redis.ping()
    await plain_redis.aclose()
    # A wire-protocol hello in plain text, on a socket of the test's own that it closes itself (a driver that gives
    # up can leave one open, which stalls the stand-in's single accept thread: tests/tls_refusals.py).
    port = urlsplit(endpoint(settings, "mongo").url).port
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(_plain_hello())
        await writer.drain()
        async with asyncio.timeout(10):
            answer = await reader.read(1)
    except ConnectionResetError:
        answer = b""
    finally:
        writer.close()
    assert answer == b"", f"the MongoDB server answered a plain-text hello: {answer!r}"
    plain_influx = endpoint(settings, "influx").url.replace("https://", "http://", 1) + "/ping"
    async with aiohttp.ClientSession() as http, http.get(plain_influx) as resp:
        assert resp.status == 400  # Go's https server: "Client sent an HTTP request to an HTTPS server"


def _plain_hello() -> bytes:
    """OP_MSG {hello: 1, $db: admin}, as a driver's first message (MongoDB wire protocol)."""
    body = bson.encode({"hello": 1, "$db": "admin"})
    payload = struct.pack("<I", 0) + b"\x00" + body  # flag bits, section kind 0, the document
    return struct.pack("<iiii", 16 + len(payload), 1, 0, 2013) + payload


@pytest.mark.parametrize("kind", MODEL_KINDS)
async def test_model_stores_take_the_ca_from_the_url_or_setting(secured: SecureStack, kind: str) -> None:
    model = load(PROJECT / "models" / "orders.toml")
    ds = Dataset(model, 4, Sizes(12, {"customer": 10, "product": 10}))
    store = make_model_store(secured.t.settings, kind, f"sbx_test_tls_{secrets.token_hex(3)}", model)
    await store.connect()
    try:
        await store.prepare(ds)
        roots = list(ds.roots())
        for inst in roots:
            await store.write(inst)
        key = model.root_entity.key
        assert (await store.read(model.root, roots[3][key]) or {}).get(key) == roots[3][key]
    finally:
        await store.teardown()
        await store.close()


def _refusals(env: dict[str, str], stores: list[str]) -> dict[str, str]:
    """Per store, the refusal line of a run's connect and a model store's own failure (tests/tls_refusals.py, in a
    child process: see there why)."""
    done = subprocess.run([sys.executable, "-m", "tests.tls_refusals", *stores], capture_output=True, text=True,
                          timeout=300, cwd=PROJECT, env={**os.environ, "SANDBOX_PROJECT_DIR": str(PROJECT), **env})
    assert done.returncode == 0, done.stderr[-3000:]
    said: dict[str, str] = json.loads(done.stdout)
    return said


def test_a_ca_that_did_not_sign_the_certificate_is_refused_in_one_line(secured: SecureStack,
                                                                      other_ca: TlsFiles) -> None:
    env = dict(secured.t.env)
    for store in SPEAKS_TLS:
        env.update(_pointed_at(secured, store, other_ca.ca))
    said = _refusals(env, SPEAKS_TLS)
    for store in SPEAKS_TLS:
        assert said[store].startswith(f"{store}: TLS refused at "), said[store]
        assert "not signed by the CA given" in said[store] and str(other_ca.ca) in said[store], said[store]
        assert "--insecure" in said[store] and secured.secrets["POSTGRES_PASSWORD"] not in said[store]
    for name, why in said.items():
        if name.endswith("model store"):
            assert why.startswith("the server's certificate is not signed by the CA given"), (name, why)
    proc = sandbox("run", "orders", "--orders", "5", env=env)  # the command: one line, exit 2, nothing written
    assert_usage_error(proc, "TLS refused at", "not signed by the CA given")


def test_insecure_connects_without_checking_and_the_results_say_so(secured: SecureStack, other_ca: TlsFiles) -> None:
    env = secured.t.env
    for store in SPEAKS_TLS:
        env = {**env, **{k: v for k, v in _pointed_at(secured, store, other_ca.ca).items() if k.startswith("SANDBOX_")
                         and k not in secured.t.env}}
    results = secured.t.ws.results_dir
    before = set(results.glob("*-orders"))
    proc = sandbox("run", "orders", "--stores", ",".join(SPEAKS_TLS), "--orders", "10", "--insecure", env=env)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr
    assert "warning: --insecure: TLS certificates and host names are NOT verified" in proc.stderr
    summary = _summary(results, before)
    assert summary["notes"][0].startswith(f"WARNING: TLS certificates not fully verified for "
                                          f"{', '.join(SPEAKS_TLS)} (--insecure)")
    assert all(summary["tls"][n]["state"] == NOT_VERIFIED and summary["tls"][n]["insecure_option"]
               for n in SPEAKS_TLS)


@pytest.fixture
def certificate_for_another_host(secured: SecureStack, tmp_path: Path) -> Iterator[None]:
    """The stack's servers restarted presenting a certificate its CA signed for elsewhere.invalid; afterwards the
    right one again (the later tests use this stack)."""
    files = TlsFiles(secured.ca.parent)
    kept = tmp_path / "kept"
    kept.mkdir()
    for path in (files.cert, files.key):
        shutil.copy2(path, kept / path.name)
    issue(files, ["DNS:elsewhere.invalid"], files.cert, files.key)
    try:
        for store in SPEAKS_TLS:
            secured.t.stack.restart(store)
        yield
    finally:
        for path in (files.cert, files.key):
            shutil.copy2(kept / path.name, path)
        for store in SPEAKS_TLS:
            secured.t.stack.restart(store)


@pytest.mark.usefixtures("certificate_for_another_host")
def test_a_certificate_for_another_host_is_refused_in_one_line(secured: SecureStack) -> None:
    said = _refusals(secured.t.env, SPEAKS_TLS)
    for name, why in said.items():
        assert "does not name this" in why, (name, why)
        assert name.endswith("model store") or why.startswith(f"{name}: TLS refused at"), why
    proc = sandbox("run", "orders", "--stores", "redis", "--orders", "5", env=secured.t.env)
    assert_usage_error(proc, "redis: TLS refused at", "does not name this")
    context = https_context(endpoint(secured.t.settings, "influx"))
    assert context is not None and context.check_hostname, "verification means the host name too"

    async def influx_sees_it_too() -> None:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=context)) as http:
            with pytest.raises(aiohttp.ClientConnectorCertificateError, match="mismatch"):
                await http.get(endpoint(secured.t.settings, "influx").url + "/ping")

    asyncio.run(influx_sees_it_too())
