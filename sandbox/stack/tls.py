"""The native stack's throwaway certificates (`sandbox up --tls`): a CA made for this state directory only, and
the server certificate it signs for the loopback names the servers answer on (127.0.0.1 and localhost).

Made with the openssl command (no Python package needed: `cryptography` is no dependency here); the keys are
mode 600. The CA (120 days) stays as long as the state directory does, so URLs that name its file keep working
across restarts; the server certificate (30 days) is renewed by `up` within a day of expiry; `down --purge`
deletes both.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from sandbox.errors import UsageError
from sandbox.secure import TlsFiles, tls_folder
from sandbox.stores.launch import which

DAYS = 30
LOOPBACK = ("IP:127.0.0.1", "DNS:localhost")
INSTALL_HINT = "apt-get install -y openssl"


def _openssl(*args: str) -> None:
    proc = subprocess.run([which("openssl", INSTALL_HINT), *args], capture_output=True, text=True)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
        raise UsageError(f"openssl {args[0]} failed (exit {proc.returncode}): {tail[0]}")


def ensure_certificates(state_dir: Path) -> TlsFiles:
    """The stack's CA and server certificate, each made when missing or within a day of expiry (a new CA: a new
    server certificate too). The CA file's path never changes, so the URLs naming it stay right."""
    files = tls_folder(state_dir)
    ca_key = files.folder / "ca.key"
    fresh_ca = not (files.ca.exists() and ca_key.exists() and _valid_for_a_day(files.ca))
    if fresh_ca:
        files.folder.mkdir(parents=True, exist_ok=True)
        files.folder.chmod(0o700)
        _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(ca_key), "-out", str(files.ca),
                 "-days", str(DAYS * 4), "-subj", f"/CN=polyglot sandbox throwaway CA ({os.uname().nodename})",
                 "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        ca_key.chmod(0o600)
    if fresh_ca or not (files.cert.exists() and files.key.exists() and _valid_for_a_day(files.cert)):
        issue(files, LOOPBACK, files.cert, files.key)
    return files


def issue(files: TlsFiles, names: Sequence[str], cert: Path, key: Path) -> None:
    """A server certificate for `names` (openssl subjectAltName entries: IP:…, DNS:…) signed by the stack's CA."""
    with tempfile.TemporaryDirectory(prefix="sbx-tls-") as tmp:
        csr, ext = Path(tmp) / "server.csr", Path(tmp) / "ext.cnf"
        ext.write_text(f"subjectAltName={','.join(names)}\nbasicConstraints=critical,CA:FALSE\n"
                       "keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n"
                       "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid,issuer\n")
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(csr),
                 "-subj", f"/CN={names[0].split(':', 1)[1]}")
        key.chmod(0o600)
        _openssl("x509", "-req", "-in", str(csr), "-CA", str(files.ca), "-CAkey", str(files.folder / "ca.key"),
                 "-CAcreateserial", "-CAserial", str(files.folder / "ca.srl"), "-out", str(cert),
                 "-days", str(DAYS), "-extfile", str(ext))


def _valid_for_a_day(cert: Path) -> bool:
    proc = subprocess.run([which("openssl", INSTALL_HINT), "x509", "-checkend", "86400", "-noout", "-in", str(cert)],
                          capture_output=True)
    return proc.returncode == 0


def switch(state_dir: Path, on: bool) -> TlsFiles | None:
    """Record whether the stack's servers start with TLS (the settings' default URLs follow it)."""
    files = tls_folder(state_dir)
    if not on:
        files.switch.unlink(missing_ok=True)
        return None
    ensure_certificates(state_dir)
    files.switch.touch()
    return files
