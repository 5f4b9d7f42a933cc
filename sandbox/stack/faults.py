"""Injecting faults into the stores of a stack: stop, kill, pause, resume, restart, start, and for a store
behind a network namespace (an `isolate` phase, stack/netns.py) partition and heal: its link cut, so clients
hang, and restored. `delay` is refused with the kernel's reason (no sch_netem here).

Each action is a method of the Stack protocol (stack/base.py). Native backend: signals to the recorded
server process and its children (a PostgreSQL postmaster's backends share its fate, as they would if a
container runtime killed the server), restart on the same data directory. Docker backend: `docker
compose kill | stop | pause | unpause | restart | start` of the service. The stack's own calls block (they wait for a
process to exit or a port to open), so they run in a worker thread and the event loop keeps
measuring the other stores meanwhile.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from sandbox.errors import UsageError
from sandbox.stack.base import Stack
from sandbox.stack.netns import latency_unavailable

ACTIONS = ("stop", "kill", "pause", "resume", "restart", "start", "partition", "heal", "delay")
WHEN_KEYS = ("at_s", "at_op", "after_s")


@dataclass(frozen=True)
class Fault:
    """One scheduled action. Exactly one of: at_s (seconds after the schedule starts), at_op (once the
    target store has finished that many write operations), after_s (seconds after the previous fault)."""

    store: str
    action: str
    at_s: float | None = None
    at_op: int | None = None
    after_s: float | None = None

    def when(self) -> str:
        if self.at_op is not None:
            return f"at write op {self.at_op}"
        if self.at_s is not None:
            return f"at {self.at_s:g} s"
        return f"{self.after_s:g} s after the previous fault"


def parse_faults(raw: Any, stores: tuple[str, ...], write_ops: int | None) -> list[Fault]:
    """Validate a scenario's fault list before anything starts; every problem is one UsageError line.

    write_ops: how many write operations each store will run, when known, to reject a fault that
    could only fire after the run has ended."""
    if not isinstance(raw, list) or not raw:
        raise UsageError("faults: expected a list of tables like {store = \"redis\", action = \"kill\", at_s = 2}")
    out: list[Fault] = []
    for i, entry in enumerate(raw, 1):
        if not isinstance(entry, dict):
            raise UsageError(f"fault {i}: expected a table with store, action and one of {', '.join(WHEN_KEYS)}")
        if bad := set(entry) - {"store", "action", *WHEN_KEYS}:
            raise UsageError(f"fault {i}: unknown key {sorted(bad)[0]!r}; expected store, action, "
                             f"and one of {', '.join(WHEN_KEYS)}")
        store, action = entry.get("store"), entry.get("action")
        if store not in stores:
            raise UsageError(f"fault {i}: store {store!r} is not in this run (stores: {','.join(stores)}); "
                             "aim the fault at one of them or add it with --stores")
        if action not in ACTIONS:
            raise UsageError(f"fault {i}: unknown action {action!r}; choose from {', '.join(ACTIONS)}")
        if action == "delay":  # asked of the kernel, not assumed
            why = latency_unavailable() or "not implemented for the native backend"
            raise UsageError(f"fault {i}: latency cannot be injected here: {why}; with Docker, add "
                             "compose/toxiproxy.yml and its latency toxic (docs/faults.md, 'Network partitions')")
        given = [k for k in WHEN_KEYS if k in entry]
        if len(given) != 1:
            raise UsageError(f"fault {i}: give exactly one of {', '.join(WHEN_KEYS)} (got {len(given)})")
        key, value = given[0], entry[given[0]]
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise UsageError(f"fault {i}: {key} must be a non-negative number, got {value!r}")
        if key == "at_op":
            if not isinstance(value, int):
                raise UsageError(f"fault {i}: at_op must be a whole number, got {value!r}")
            if write_ops is not None and value >= write_ops:
                raise UsageError(f"fault {i}: at_op {value} is after the run ends (each store runs {write_ops} "
                                 "write operations); choose a smaller at_op or more --orders")
        if key == "after_s" and i == 1:
            raise UsageError("fault 1: after_s counts from the previous fault, and there is none; use at_s")
        out.append(Fault(store, action, **{key: value}))
    return out


class FaultInjector:
    """Applies actions to one stack's stores and remembers which it left down or paused."""

    def __init__(self, stack: Stack):
        self.stack = stack
        self.down: set[str] = set()
        self.paused: set[str] = set()
        self.cut: set[str] = set()  # partitioned: their links are down

    async def apply(self, store: str, action: str) -> str:
        """Do it; returns what was done, for the history and the report."""
        detail = await asyncio.to_thread(self._apply, store, action)
        if action in ("kill", "stop"):
            self.down.add(store)
            self.paused.discard(store)
        elif action == "pause":
            self.paused.add(store)
        elif action == "resume":
            self.paused.discard(store)
        elif action in ("restart", "start"):
            self.down.discard(store)
            self.paused.discard(store)
        elif action == "partition":
            self.cut.add(store)
        elif action == "heal":
            self.cut.discard(store)
        return detail

    async def restore(self) -> list[str]:
        """Resume what is paused and start what is down: the stack as it was before the faults."""
        done = []
        for store in sorted(self.cut):
            done.append(f"{store}: {await self.apply(store, 'heal')}")
        for store in sorted(self.paused):
            done.append(f"{store}: {await self.apply(store, 'resume')}")
        for store in sorted(self.down):
            done.append(f"{store}: {await self.apply(store, 'start')}")
        return done

    def _apply(self, store: str, action: str) -> str:
        do = {"stop": self.stack.stop, "kill": self.stack.kill, "pause": self.stack.pause,
              "resume": self.stack.resume, "restart": self.stack.restart, "start": self.stack.start,
              "partition": self.stack.partition, "heal": self.stack.heal}
        return do[action](store)
