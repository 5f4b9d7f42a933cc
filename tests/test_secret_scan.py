"""No secret in any output: on a stack whose every secret is distinctive (tests/conftest.py `secured`), a fault
scenario (history, a PostgreSQL killed and restarted, timelines, report.html), `status`, `gc` and a run refused
for a wrong password leave none of them, in any form, in anything they printed or any file they wrote.

Files scanned: the results folder, and every file under the state dir and the servers' data folders that changed
while the commands ran (server logs included). A file whose job is to hold a secret may: it must then be mode 600
and one of KEEPERS (the servers' own configuration), nothing else.
"""

from __future__ import annotations

import base64
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

from sandbox.config import endpoint
from sandbox.secure import with_query
from tests.helpers import BUILT_IN, SecureStack, sandbox

KEEPERS = {"redis.conf"}  # Redis reads its ACL users' passwords from it (mode 600, as the stack writes it)
USERS = ("sandbox", "sandbox_admin", "default", "")


def forms(secret: str) -> set[bytes]:
    """The ways a secret could be written out: as is, percent-encoded, and inside HTTP basic-auth headers."""
    out = {secret.encode(), quote(secret, safe="").encode()}
    out |= {base64.b64encode(f"{user}:{secret}".encode()) for user in USERS}
    return out


def written_since(roots: list[Path], since: float) -> Iterator[Path]:
    for root in roots:
        for path in root.rglob("*") if root.exists() else ():
            try:
                if path.is_file() and not path.is_symlink() and path.stat().st_mtime >= since:
                    yield path
            except FileNotFoundError:  # a server's temporary file, gone again
                continue


def test_no_secret_reaches_any_output(secured: SecureStack) -> None:
    t = secured.t
    wrong = f"ZqWrongPassword{secrets.token_hex(10)}"
    refused_url = with_query(endpoint(t.settings, "postgres").url.replace(
        f":{secured.secrets['POSTGRES_PASSWORD']}@", f":{wrong}@"))
    started = time.time() - 1
    printed: list[str] = []
    for args, env, codes in [
        (("status",), {}, {0}),
        (("run", "outage", "--orders", "300", "-p", "store=postgres", "-p", "down_s=1"), {}, {0, 3}),
        (("gc", "--older-than", "0s"), {}, {0}),
        (("run", "orders", "--stores", "postgres", "--orders", "5"), {"SANDBOX_POSTGRES_URL": refused_url}, {2}),
    ]:
        proc = sandbox(*args, env={**t.env, **env}, timeout=300)
        assert proc.returncode in codes, (args, proc.stdout[-2000:], proc.stderr)
        printed += [proc.stdout, proc.stderr]
    assert "password authentication failed" in printed[-1], printed[-1]  # the wrong password was sent, and refused
    assert list(t.ws.results_dir.glob("*-outage/history.jsonl")), "the scenario wrote its history"

    wanted = {name: forms(value) for name, value in {**secured.secrets, "the wrong password": wrong}.items()}
    assert len(wanted) == 1 + sum(len(k.secrets) for k in BUILT_IN.kinds.values())
    leaks = [f"printed: {name}" for name, found in wanted.items()
             if any(f.decode() in text for f in found for text in printed)]
    data = [d for s in t.stack.nodes if (d := t.stack.store_dir(s)) is not None]
    files = sorted(set(written_since([t.ws.results_dir, t.ws.state_dir, *data], started)))
    assert any(p.name == "summary.json" for p in files) and any(p.name == "server.log" for p in files), files
    kept = []
    for path in files:
        try:
            content = path.read_bytes()
        except FileNotFoundError:
            continue
        names = [name for name, found in wanted.items() if any(f in content for f in found)]
        if not names:
            continue
        if path.name in KEEPERS and path.stat().st_mode & 0o077 == 0:
            kept.append(path.name)
            continue
        leaks.append(f"{path}: {', '.join(names)}")
    assert not leaks, "secrets found:\n" + "\n".join(leaks)
    assert len(files) > 20, f"only {len(files)} files scanned"
