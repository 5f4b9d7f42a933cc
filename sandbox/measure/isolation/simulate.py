"""In-memory models of three isolation levels, run with randomly interleaved clients: fixtures that test
and benchmark the checker (what each level must and must not show), never a stand-in for a store.

- serializable: each transaction runs whole, at one instant between its invocation and its completion;
- snapshot isolation: reads see the committed state as of the transaction's start plus its own writes;
  at commit, a key another transaction committed since that start aborts it (first committer wins);
- read committed: each read sees the latest committed state plus its own writes; a write locks its key
  until commit (no dirty writes: others wait, a deadlock aborts one), but reads take no locks, so two
  read-modify-writes can both read the same version (lost update).

Writes are buffered until commit; an append commits onto the key's latest list. `fail_share` of the
transactions abort on their own (recorded fail); `info_share` end with an unknown outcome (recorded
info; applied or not, at random), after which the client continues as a new process, as in Jepsen.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, field
from typing import Any

from sandbox.measure.isolation.history import APPEND, READ, History, Key, Mop, Recorder
from sandbox.measure.isolation.workload import TxnGenerator

LEVELS = ("serializable", "snapshot-isolation", "read-committed")


@dataclass
class _Store:
    versions: dict[Key, list[tuple[int, Any]]] = field(default_factory=dict)  # key -> (commit number, value)
    commits: int = 0

    def at(self, key: Key, commit: int) -> Any:
        """The key's value as of a commit number (None before its first write)."""
        for n, v in reversed(self.versions.get(key, ())):
            if n <= commit:
                return v
        return None

    def last(self, key: Key) -> int:
        history = self.versions.get(key)
        return history[-1][0] if history else 0

    def install(self, writes: dict[Key, Any]) -> None:
        self.commits += 1
        for key, v in writes.items():
            if isinstance(v, list):  # appends go onto the latest list, whatever the transaction saw
                v = (*(self.at(key, self.commits) or ()), *v)
            self.versions.setdefault(key, []).append((self.commits, v))


@dataclass
class _Attempt:
    id: int
    slot: int
    mops: tuple[Mop, ...]
    start: int  # commit number its snapshot is taken at
    done: int = 0  # micro-operations executed so far
    observed: list[Mop] = field(default_factory=list)
    writes: dict[Key, Any] = field(default_factory=dict)  # key -> own appended elements, or value written
    aborted: bool = False


def _execute(store: _Store, a: _Attempt, mop: Mop, as_of: int) -> None:
    """One micro-operation against the committed state as of `as_of`, plus the transaction's own writes."""
    f, k, v = mop
    if f == READ:
        base, mine = store.at(k, as_of), a.writes.get(k)
        if isinstance(base, tuple) or isinstance(mine, list):  # a list-append key
            seen: Any = [*(base or ()), *(mine or ())] or None
        else:
            seen = mine if k in a.writes else base
        a.observed.append((f, k, seen))
        return
    if f == APPEND:
        a.writes.setdefault(k, []).append(v)
    else:
        a.writes[k] = v
    a.observed.append(mop)


def _may_step(a: _Attempt, locks: dict[Key, int]) -> bool:
    """False while its next micro-operation writes a key another transaction holds locked."""
    if a.done >= len(a.mops) or a.mops[a.done][0] == READ:
        return True
    return locks.get(a.mops[a.done][1], a.id) == a.id


def run(level: str, gen: TxnGenerator, txns: int, concurrency: int = 5, seed: int = 0, fail_share: float = 0.0,
        info_share: float = 0.0) -> History:
    """A history of `txns` transactions from `gen`, executed under `level` by `concurrency` clients."""
    if level not in LEVELS:
        raise ValueError(f"level {level!r}: one of {', '.join(LEVELS)}")
    rng = random.Random(seed)
    rec = Recorder(clock=itertools.count().__next__)
    store = _Store()
    process = list(range(concurrency))  # per client slot: its current process id
    idle = list(range(concurrency))
    running: list[_Attempt] = []
    locks: dict[Key, int] = {}  # read committed: key -> the transaction holding its write lock
    started = 0
    while started < txns or running:
        while started < txns and idle:
            slot = idle.pop()
            mops = gen.next()
            running.append(_Attempt(rec.invoke(process[slot], mops), slot, mops, store.commits))
            started += 1
        ready = [a for a in running if _may_step(a, locks)]
        if not ready:  # every client waits for another's lock: abort one, as a deadlock detector would
            a = running[rng.randrange(len(running))]
            a.aborted, a.done = True, len(a.mops)
        else:
            a = ready[rng.randrange(len(ready))]
        if level != "serializable" and a.done < len(a.mops):
            mop = a.mops[a.done]
            if level == "read-committed" and mop[0] != READ:
                locks[mop[1]] = a.id
            _execute(store, a, mop, a.start if level == "snapshot-isolation" else store.commits)
            a.done += 1
            continue
        for k in [k for k, holder in locks.items() if holder == a.id]:
            del locks[k]
        running.remove(a)
        idle.append(a.slot)
        if level == "serializable":  # the whole transaction at this instant
            for mop in a.mops:
                _execute(store, a, mop, store.commits)
        conflict = a.aborted or (level == "snapshot-isolation" and any(store.last(k) > a.start for k in a.writes))
        roll = rng.random()
        if roll < info_share:
            if not conflict and rng.random() < 0.5:
                store.install(a.writes)
            rec.complete(a.id, "info")
            process[a.slot] += concurrency  # the old process may still be inside the store
        elif conflict or roll < info_share + fail_share:
            rec.complete(a.id, "fail")
        else:
            store.install(a.writes)
            rec.complete(a.id, "ok", a.observed)
    return rec.history
