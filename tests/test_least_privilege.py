"""The default native stack's logins (docs/security.md, "Least privilege"): the run's PostgreSQL role is no
superuser and creates schemas in its own database only; its Redis ACL user reaches keys under sbx_* only and
no administrative command; what needs more goes through the stack's administrative login, and a step that needs
it on a server the stack does not own says which privilege and refuses in one line."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import pytest
import redis.asyncio as aioredis
from redis.exceptions import NoPermissionError

from sandbox.config import Settings, Workspace, endpoint
from sandbox.stack import recorded_backend
from tests.helpers import admin_url, assert_usage_error, new_namespace, sandbox


@pytest.fixture(autouse=True)
def _native() -> None:
    if recorded_backend(Workspace.from_env(dict(os.environ)).state_dir) == "docker":
        pytest.skip("the compose services have one login each: least privilege is the native stack's")


@pytest.mark.stores("postgres")
async def test_the_runs_postgres_role_is_no_superuser_and_creates_schemas_only_in_its_database(live: Settings) -> None:
    url = endpoint(live, "postgres").url
    conn = await asyncpg.connect(url)
    try:
        powers = await conn.fetchrow("SELECT rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls "
                                     "FROM pg_roles WHERE rolname = current_user")
        assert powers is not None and not any(powers), dict(powers or {})
        ns = new_namespace()
        await conn.execute(f'CREATE SCHEMA "{ns}"; CREATE TABLE "{ns}".t (id int); DROP SCHEMA "{ns}" CASCADE')
        for statement in ("ALTER SYSTEM SET work_mem = '8MB'", "SELECT rolpassword FROM pg_authid",
                          "CREATE DATABASE sbx_not_allowed", "CREATE ROLE sbx_not_allowed",
                          "SELECT pg_reload_conf()", "SET session_authorization = sandbox_admin"):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute(statement)
    finally:
        await conn.close()
    elsewhere = await asyncpg.connect(urlsplit(url)._replace(path="/postgres").geturl())
    try:
        for statement in (f'CREATE SCHEMA "{new_namespace()}"', "CREATE TABLE public.sbx_not_allowed (id int)"):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await elsewhere.execute(statement)
    finally:
        await elsewhere.close()
    admin = await asyncpg.connect(admin_url(live, "postgres"))  # the stack's own login can, and is another role
    try:
        assert await admin.fetchval("SELECT rolsuper FROM pg_roles WHERE rolname = current_user") is True
        assert await admin.fetchval("SELECT current_user") != "sandbox"
    finally:
        await admin.close()


# Commands the run's user may not run: asked with ACL DRYRUN (through the admin login), never run for real.
REFUSED = [["FLUSHALL"], ["FLUSHDB"], ["SHUTDOWN"], ["CONFIG", "SET", "maxmemory", "1"], ["CONFIG", "GET", "*"],
           ["KEYS", "*"], ["DEBUG", "SLEEP", "0"], ["REPLICAOF", "NO", "ONE"], ["ACL", "LIST"], ["MONITOR"],
           ["SET", "someone-elses", "1"], ["GET", "someone-elses"], ["DEL", "someone-elses"],
           ["EVAL", "return redis.call('del', KEYS[1])", "1", "someone-elses"]]
ALLOWED = [["SET", "sbx_x:k", "1"], ["EVALSHA", "0" * 40, "1", "sbx_x:k"], ["INFO", "persistence"], ["WAIT", "0", "1"],
           ["SCAN", "0"], ["MULTI"], ["TIME"]]


@pytest.mark.stores("redis")
async def test_the_runs_redis_user_reaches_its_key_prefix_only(live: Settings) -> None:
    url = endpoint(live, "redis").url
    user = urlsplit(url).username
    assert user == "sandbox", "the run's URL names its ACL user"
    admin = aioredis.from_url(admin_url(live, "redis"), decode_responses=True)
    run = aioredis.from_url(url, decode_responses=True)
    try:
        for argv in REFUSED:
            said = await admin.execute_command("ACL", "DRYRUN", user, *argv)
            assert said != "OK" and "no permissions" in said, (argv, said)
        for argv in ALLOWED:
            assert await admin.execute_command("ACL", "DRYRUN", user, *argv) == "OK", argv
        key = f"{new_namespace()}:k"
        assert await run.set(key, "1") and await run.delete(key) == 1  # and for real, within its prefix
        with pytest.raises(NoPermissionError):
            await run.set("someone-elses", "1")
        with pytest.raises(NoPermissionError):
            await run.flushall()
    finally:
        await run.aclose()
        await admin.aclose()


@pytest.mark.stores("postgres")
def test_a_guarantee_on_a_primary_the_stack_does_not_own_is_refused_naming_the_privilege(tmp_path: Path) -> None:
    """The URL reaches the shared PostgreSQL, but this state dir's stack started nothing: setting
    synchronous_standby_names would need its superuser, which the run does not have."""
    proc = sandbox("run", "replicas", "--stores", "postgres", env={"SANDBOX_STATE_DIR": str(tmp_path / "state")})
    assert_usage_error(proc, "replicas set a guarantee on the primary (ALTER SYSTEM and pg_promote(), PostgreSQL "
                             "superuser) on postgres: it runs only against a server this sandbox started")
