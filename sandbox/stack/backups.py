"""A store's backups driven on the stack that runs its server (stores/contract.py Backups): the target built
from the stack's own data directory and port, so a backup, a destroyed data directory or a restore can only
ever be of a server this stack started; a backend or store that cannot says so in one line."""

from __future__ import annotations

from sandbox.errors import UsageError
from sandbox.stack.base import Stack
from sandbox.stores.contract import Backups, BackupTarget, NoBackups
from sandbox.stores.launch import backups_dir
from sandbox.stores.registry import StoreRegistry

DOCKER_REFUSAL = ("backups drills need the servers' data directories on this host (the native backend); the compose "
                  "equivalents are in docs/backups.md")


def backups_of(registry: StoreRegistry, kind: str) -> Backups:
    """The kind's backups, or UsageError with the one line saying why it has none."""
    declared = registry.kind(kind).backups
    if isinstance(declared, NoBackups):
        raise UsageError(f"{kind}: {declared.reason}")
    if not isinstance(declared, Backups):
        raise UsageError(f"{kind}: its kind declares no backups (stores/{kind}/backup.py)")
    return declared


def target_of(stack: Stack, registry: StoreRegistry, kind: str, namespace: str = "") -> BackupTarget:
    """The running server of `kind` on this stack as a backup target; refused where the stack does not own it."""
    root = stack.store_dir(kind)
    if root is None or stack.backend != "native":
        raise UsageError(DOCKER_REFUSAL)
    if not stack.is_running(kind):
        raise UsageError(f"{kind} is not running on this stack; start it with `sandbox up`")
    k = registry.kind(kind)
    return BackupTarget(kind, root, backups_dir(root), stack.ws.shifted(k.port or 0), stack.admin_url(kind),
                        stack.durability.server(k), namespace)
