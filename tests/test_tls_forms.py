"""How each store's URL asks for TLS, what --insecure turns it into, what the results call it, and how a refused
handshake reads: checked on the text alone (no server; tests/test_tls.py connects)."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from sandbox.config import Workspace, ensure_env_file, mask
from sandbox.errors import UsageError
from sandbox.stores.tls import (
    CA_ONLY,
    NOT_VERIFIED,
    OFF,
    OPPORTUNISTIC,
    VERIFIED,
    tls_failure,
    tls_states,
    tls_warnings,
)
from tests.helpers import BUILT_IN

CA = "/state/tls/ca.pem"
# (store, the plain default form, its verified form, its --insecure form)
FORMS = [
    ("postgres", "postgresql://sandbox:pw@127.0.0.1:15432/sandbox",
     f"postgresql://sandbox:pw@127.0.0.1:15432/sandbox?sslmode=verify-full&sslrootcert={CA}",
     "postgresql://sandbox:pw@127.0.0.1:15432/sandbox?sslmode=require"),
    ("redis", "redis://sandbox:pw@127.0.0.1:16379/0", f"rediss://sandbox:pw@127.0.0.1:16379/0?ssl_ca_certs={CA}",
     "rediss://sandbox:pw@127.0.0.1:16379/0?ssl_cert_reqs=none"),
    ("mongo", "mongodb://127.0.0.1:27117/?directConnection=true",
     f"mongodb://127.0.0.1:27117/?directConnection=true&tls=true&tlsCAFile={CA}",
     f"mongodb://127.0.0.1:27117/?directConnection=true&tls=true&tlsCAFile={CA}&tlsInsecure=true"),
    ("influx", "http://127.0.0.1:18086", "https://127.0.0.1:18086", "https://127.0.0.1:18086"),
    ("elastic", "http://127.0.0.1:19200", "https://127.0.0.1:19200", "https://127.0.0.1:19200"),
]


@pytest.mark.parametrize(("store", "plain", "verified", "insecure"), FORMS)
def test_each_store_says_how_its_url_asks_for_tls(store: str, plain: str, verified: str, insecure: str) -> None:
    forms = BUILT_IN.kind(store).tls
    assert forms is not None, f"{store} declares no TLS forms"
    assert forms.verified(plain, CA) == verified
    assert forms.unverified(verified) == insecure
    settings = {"ca_file": CA} if forms.ca_setting else {}
    assert forms.state(plain, {}, False).startswith(OPPORTUNISTIC if store == "postgres" else OFF)
    assert forms.state(verified, settings, False) == VERIFIED
    assert forms.state(insecure, settings, forms.ca_setting is not None) == NOT_VERIFIED
    assert forms.unverified(plain) == plain, "a URL that asks for no TLS is left as it is"


def test_states_of_urls_users_write_themselves() -> None:
    pg, redis, mongo = (BUILT_IN.kind(n).tls for n in ("postgres", "redis", "mongo"))
    assert pg is not None and redis is not None and mongo is not None
    assert pg.state("postgresql://h/db?sslmode=verify-ca", {}, False) == CA_ONLY
    assert pg.state("postgresql://h/db", {}, False).startswith(OPPORTUNISTIC + " (sslmode=prefer")
    assert pg.state("postgresql://h/db?sslmode=disable", {}, False) == OFF
    assert redis.state("rediss://h:1/0?ssl_check_hostname=false", {}, False) == CA_ONLY
    assert redis.state("unix:///tmp/redis.sock", {}, False) == OFF
    assert mongo.state("mongodb+srv://cluster.example.net/", {}, False) == VERIFIED
    assert mongo.state("mongodb://h/?tls=true&tlsAllowInvalidHostnames=true", {}, False) == CA_ONLY


def test_default_urls_verify_the_stacks_ca_when_it_runs_with_tls(tmp_path: Path) -> None:
    ws = Workspace(tmp_path, tmp_path / "state", tmp_path / "results")
    (ws.state_dir / "tls").mkdir(parents=True)
    (ws.state_dir / "tls" / "on").touch()
    settings = BUILT_IN.settings("native", ws, environ={"SANDBOX_MONGO_URL": "mongodb://elsewhere:1/"})
    ca = str(ws.state_dir / "tls" / "ca.pem")
    assert settings.postgres_url.endswith(f"?sslmode=verify-full&sslrootcert={ca}")
    assert settings.redis_url.startswith("rediss://sandbox:")
    assert settings.influx_url.startswith("https://") and settings.influx_ca_file == ca
    assert settings.mongo_url == "mongodb://elsewhere:1/", "a URL the user gives is theirs: left as given"
    assert settings.elastic_url.startswith("http://") and settings.elastic_ca_file is None, "osmem speaks no TLS"
    states = tls_states(settings, ["postgres", "redis", "influx", "mongo", "elastic"])
    assert states["postgres"]["ca_file"] == ca and states["influx"]["ca_file"] == ca
    assert {n: s["state"] for n, s in states.items()} == {"postgres": VERIFIED, "redis": VERIFIED,
                                                           "influx": VERIFIED, "mongo": OFF, "elastic": OFF}
    assert tls_warnings(states) == []
    loose = BUILT_IN.settings("native", ws, insecure=True)
    states = tls_states(loose, ["postgres", "redis", "influx"])
    assert {s["state"] for s in states.values()} == {NOT_VERIFIED} and all(s["insecure_option"] for s in
                                                                             states.values())
    [warning] = tls_warnings(states)
    assert warning.startswith("WARNING: TLS certificates not fully verified for postgres, redis, influx (--insecure)")


def test_without_tls_the_default_urls_are_plain(tmp_path: Path) -> None:
    settings = BUILT_IN.settings("native", Workspace(tmp_path, tmp_path / "state", tmp_path / "results"))
    states = {n: s["state"] for n, s in tls_states(settings, BUILT_IN.names).items()}
    assert states.pop("postgres").startswith(OPPORTUNISTIC)  # asyncpg's default sslmode=prefer; the server: none
    assert states == dict.fromkeys(states, OFF)


def test_a_refused_handshake_reads_as_its_cause() -> None:
    wrong_ca = ssl.SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: "
                                               "unable to get local issuer certificate (_ssl.c:1006)")
    wrapped = ConnectionError("Error 1 connecting to 127.0.0.1:16379.")
    wrapped.__cause__ = wrong_ca
    assert (tls_failure(wrapped) or "").startswith("the server's certificate is not signed by the CA given")
    host = ssl.SSLCertVerificationError(1, "certificate verify failed: IP address mismatch, certificate is not "
                                           "valid for '127.0.0.1'. (_ssl.c:1006)")
    assert (tls_failure(host) or "").startswith("the server's certificate does not name this address")
    folded = TimeoutError("127.0.0.1:27117: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: Hostname "
                          "mismatch, certificate is not valid for 'localhost'. (configured timeouts: ...)")
    assert (tls_failure(folded) or "").startswith("the server's certificate does not name this host")
    assert tls_failure(ConnectionRefusedError(111, "Connection refused")) is None


def test_mask_hides_passwords_in_query_parameters_too() -> None:
    assert mask("http://h:8086/query?u=admin&p=s3cret&db=x") == "http://h:8086/query?u=admin&p=***&db=x"
    assert mask("postgresql://u:pw@h/db?sslmode=verify-full&sslrootcert=/x/ca.pem") == \
        "postgresql://u:***@h/db?sslmode=verify-full&sslrootcert=/x/ca.pem"
    assert mask("not a url: error 1 at 127.0.0.1:1. [SSL: X]") == "not a url: error 1 at 127.0.0.1:1. [SSL: X]"


def test_an_older_env_file_gains_the_secrets_it_lacks(tmp_path: Path) -> None:
    path = tmp_path / ".env"
    path.write_text("POSTGRES_PASSWORD=kept\nREDIS_PASSWORD=kept-too")  # no newline at the end, no admin secrets
    got = ensure_env_file(path, BUILT_IN.kinds.values())
    assert got["POSTGRES_PASSWORD"] == "kept" and got["REDIS_PASSWORD"] == "kept-too"
    assert len(got["POSTGRES_ADMIN_PASSWORD"]) >= 20 and len(got["REDIS_ADMIN_PASSWORD"]) >= 20
    assert path.stat().st_mode & 0o777 == 0o600
    assert ensure_env_file(path, BUILT_IN.kinds.values()) == got, "nothing changes once complete"


def test_up_tls_on_the_docker_backend_is_one_line(tmp_path: Path) -> None:
    from sandbox.stack.docker import DockerStack

    stack = DockerStack(Workspace(tmp_path, tmp_path / "state", tmp_path / "results"), BUILT_IN)
    with pytest.raises(UsageError, match="--tls: the compose services run without TLS"):
        stack.up(["postgres"], tls=True)
