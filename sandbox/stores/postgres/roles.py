"""The native cluster's two logins: `sandbox_admin` (the bootstrap superuser: the stack's own operations) and
`sandbox`, the run's, with no superuser and no CREATEDB/CREATEROLE/REPLICATION, which may create schemas in its
own database `sandbox` only (nothing in `postgres` or the templates: PostgreSQL 15 gives PUBLIC no CREATE on
schema public, and CREATE on a database is its owner's, here the admin's, unless granted).

Applied at every start over the Unix socket (trusted locally, as initdb sets it up), so a changed compose/.env
password takes effect. Passwords reach the server as SCRAM verifiers computed here, never in plain text (a
failing statement would be logged with its text). A cluster made before the split (bootstrap user `sandbox`, a
superuser) is converted once: that role becomes `sandbox_admin`, a new `sandbox` is created, and the run schemas
it owned are handed to the new role (so `sandbox gc` can still find and drop them).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import subprocess
from pathlib import Path

from sandbox.errors import UsageError

ADMIN, RUN, DATABASE = "sandbox_admin", "sandbox", "sandbox"
SCRAM_ITERATIONS = 4096
PSQL_TIMEOUT_S = 60.0


def scram_verifier(password: str) -> str:
    """PostgreSQL's stored form of a SCRAM-SHA-256 password (RFC 5802/7677), as `\\password` would send it."""
    salt = os.urandom(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, SCRAM_ITERATIONS)
    stored = hashlib.sha256(hmac.new(salted, b"Client Key", "sha256").digest()).digest()
    server = hmac.new(salted, b"Server Key", "sha256").digest()
    b64 = base64.b64encode
    return f"SCRAM-SHA-256${SCRAM_ITERATIONS}:{b64(salt).decode()}${b64(stored).decode()}:{b64(server).decode()}"


# Kept out of pg_stat_statements and the server log: these statements carry password verifiers. Committed
# locally: a primary restarted with a synchronous standby configured (the replicas scenario) may have none yet.
QUIET = "SET pg_stat_statements.track_utility = off;\nSET log_statement = 'none';\nSET synchronous_commit = local;\n"

CONVERT = f"""
CREATE ROLE sandbox_convert SUPERUSER LOGIN;
\\c - sandbox_convert
ALTER ROLE {RUN} RENAME TO {ADMIN};
\\c - {ADMIN}
DROP ROLE sandbox_convert;
"""


def setup_sql(admin_password: str, run_password: str) -> str:
    return QUIET + f"""
SELECT 'CREATE ROLE {RUN}' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{RUN}') \\gexec
ALTER ROLE {RUN} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS
    PASSWORD '{scram_verifier(run_password)}';
ALTER ROLE {ADMIN} PASSWORD '{scram_verifier(admin_password)}';
SELECT 'CREATE DATABASE {DATABASE} OWNER {ADMIN}'
    WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '{DATABASE}') \\gexec
ALTER DATABASE {DATABASE} OWNER TO {ADMIN};
REVOKE CREATE ON DATABASE postgres, template1 FROM PUBLIC, {RUN};
GRANT CONNECT, TEMPORARY, CREATE ON DATABASE {DATABASE} TO {RUN};
\\c {DATABASE}
{QUIET}
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
-- The migrations' filler rows skip foreign-key triggers in the run's own tables (stores/postgres/migrations).
GRANT SET ON PARAMETER session_replication_role TO {RUN};
-- Run schemas a converted cluster's old role owned: the new run role's now.
DO $$DECLARE s text; BEGIN
  FOR s IN SELECT nspname FROM pg_namespace n JOIN pg_roles r ON r.oid = n.nspowner
           WHERE starts_with(nspname, 'sbx_') AND r.rolname = '{ADMIN}' LOOP
    EXECUTE format('ALTER SCHEMA %I OWNER TO {RUN}; GRANT ALL ON ALL TABLES IN SCHEMA %I TO {RUN}; '
                   'GRANT ALL ON ALL SEQUENCES IN SCHEMA %I TO {RUN}', s, s, s);
  END LOOP; END$$;
"""


def apply_roles(psql: list[str], root: Path, admin_password: str, run_password: str) -> None:
    """Create or update both logins and the run's database; `psql`: the command up to its connection options
    (socket, port), run as the postgres user where needed. `root/.roles` records that the split is done."""
    marker = root / ".roles"
    if _in_recovery([*psql, "-U", ADMIN, "-d", "postgres"]):
        return  # a restore still replaying (read-only): its roles are the backup's, set up when it was taken
    if not marker.exists() and (root / ".db-created").exists():  # made before the split: convert it once
        _psql([*psql, "-U", RUN, "-d", "postgres"], CONVERT, "converting the cluster's superuser to sandbox_admin")
    _psql([*psql, "-U", ADMIN, "-d", "postgres"], setup_sql(admin_password, run_password),
          "setting up the sandbox and sandbox_admin roles")
    marker.write_text(f"admin={ADMIN} run={RUN}\n")


def _in_recovery(argv: list[str]) -> bool:
    try:
        proc = subprocess.run([*argv, "-Atqc", "SELECT pg_is_in_recovery()"], capture_output=True, text=True,
                              timeout=PSQL_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return False  # the setup that follows says what is wrong
    return proc.returncode == 0 and proc.stdout.strip() == "t"


def _psql(argv: list[str], sql: str, what: str) -> None:
    # The SQL (with the verifiers) goes on stdin, never on a command line anyone can read in ps.
    try:
        proc = subprocess.run([*argv, "-v", "ON_ERROR_STOP=1", "-q", "-X"], input=sql, capture_output=True, text=True,
                              timeout=PSQL_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        raise UsageError(f"PostgreSQL: {what} did not finish within {PSQL_TIMEOUT_S:.0f} s") from None
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        raise UsageError(f"PostgreSQL: {what} failed (exit {proc.returncode}): {tail[0][:200]}")
