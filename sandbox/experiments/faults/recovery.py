"""How a faulted store came back: per store, its writes before the fault, while it was out, and after.

A listener on every store of the run keeps one small entry per write (when it finished, its response time,
and whether it was acknowledged, refused before sending, failed otherwise, or left unknown); the fault
schedule tells it when each store went down (kill, stop, pause) and when it was started again (restart,
start, resume). From that, per store:

- noticed: from the fault to the client's first write that did not succeed (how long it took to see);
- server back: the restart issued -> the stack saw the server answer (its port open, its launcher's check);
- reconnected: the restart issued -> the first write after it that reached the server (acknowledged, or
  answered with the server's own error; a refused connection or a broken one did not reach it);
- first ack: the restart issued -> the first acknowledged write that finished after it;
- before / during / after: writes finished before the fault, from the fault to the first ack after the
  restart, and after that: acknowledged per second, p99 of their response times, refused / failed /
  unknown. A store that was not faulted is measured over the first faulted store's windows (unaffected
  stores show the same rate throughout).
"""

from __future__ import annotations

import time
from array import array
from dataclasses import dataclass, field
from typing import Any

from sandbox.measure.latency import new_histogram, record_us, summarize
from sandbox.measure.timing import OpEvent

DOWN = ("kill", "stop", "pause")
BACK = ("restart", "start", "resume")
OK, REFUSED, FAILED, UNKNOWN = 0, 1, 2, 3  # what a write came to (REFUSED: failed before anything was sent)


@dataclass
class Fault:
    """One store's outage: when it went down and when it was started again (perf_counter_ns)."""

    action: str
    down_ns: int
    back_action: str | None = None
    back_issued_ns: int | None = None  # the restart / start / resume was issued
    back_ready_ns: int | None = None  # and returned: the server answers


@dataclass
class Writes:
    """Every write of one store, compactly: end time, response time (µs), what it came to."""

    end_ns: array = field(default_factory=lambda: array("q"))
    response_us: array = field(default_factory=lambda: array("q"))
    outcome: bytearray = field(default_factory=bytearray)
    first_start_ns: int | None = None

    def add(self, event: OpEvent) -> None:
        if self.first_start_ns is None:
            self.first_start_ns = event.intended_ns or event.start_ns
        self.end_ns.append(event.end_ns)
        self.response_us.append((event.end_ns - (event.intended_ns or event.start_ns)) // 1000)
        self.outcome.append(OK if event.outcome == "ok" else REFUSED if event.refused
                            else FAILED if event.outcome == "fail" else UNKNOWN)


class RecoveryWatch:
    """A TimedStore listener (every store of the run) plus the fault schedule's notes of what it did."""

    def __init__(self) -> None:
        self.writes: dict[str, Writes] = {}
        self.faults: dict[str, Fault] = {}  # the first outage of each store
        self.errors: dict[str, list[str]] = {}  # the first errors after each store's restart

    def listener(self, event: OpEvent) -> None:
        if event.op != "write":
            return
        writes = self.writes.get(event.store)
        if writes is None:
            writes = self.writes[event.store] = Writes()
        writes.add(event)
        fault = self.faults.get(event.store)
        if event.outcome != "ok" and fault is not None and fault.back_issued_ns is not None \
                and event.end_ns >= fault.back_issued_ns:
            shown = self.errors.setdefault(event.store, [])
            if len(shown) < 3 and event.error and event.error not in shown:
                shown.append(event.error)

    def went_down(self, store: str, action: str, at_ns: int) -> None:
        if store not in self.faults:
            self.faults[store] = Fault(action, at_ns)

    def came_back(self, store: str, action: str, issued_ns: int) -> None:
        fault = self.faults.get(store)
        if fault is not None and fault.back_issued_ns is None:
            fault.back_action, fault.back_issued_ns = action, issued_ns
            fault.back_ready_ns = time.perf_counter_ns()

    def to_json(self) -> dict[str, Any]:
        if not self.faults:
            return {}
        reference = min(self.faults.values(), key=lambda f: f.down_ns)
        return {store: self._store(store, self.faults.get(store), reference) for store in self.writes}

    def _store(self, store: str, own: Fault | None, reference: Fault) -> dict[str, Any]:
        w = self.writes[store]
        fault = own or reference
        ends, outcomes = w.end_ns, w.outcome
        n = len(ends)
        back = fault.back_issued_ns
        if own is not None:  # its own first acknowledged write after its restart ends "during"
            first_ack = next((i for i in range(n) if outcomes[i] == OK and back is not None and ends[i] >= back),
                             None)
        else:  # measured over the faulted store's windows: "during" ends at that store's first ack
            recovered_ns = self._first_ack_ns(reference)
            first_ack = None if recovered_ns is None else next((i for i in range(n) if ends[i] >= recovered_ns),
                                                                None)
        out: dict[str, Any] = {"faulted": own is not None, "fault": fault.action, "back": fault.back_action}
        if own is not None:
            noticed = next((i for i in range(n) if ends[i] >= own.down_ns and outcomes[i] != OK), None)
            reached = next((i for i in range(n) if back is not None and ends[i] >= back
                            and outcomes[i] in (OK, FAILED)), None)
            out.update({
                "noticed_after_s": _s(ends[noticed] - own.down_ns) if noticed is not None else None,
                "down_for_s": _s(back - own.down_ns) if back is not None else None,
                "server_back_after_s": _s(own.back_ready_ns - back)
                if back is not None and own.back_ready_ns is not None else None,
                "reconnected_after_s": _s(ends[reached] - back) if reached is not None and back is not None else None,
                "first_ack_after_s": _s(ends[first_ack] - back) if first_ack is not None and back is not None
                else None,
                "writes_after_restart": sum(1 for i in range(n) if back is not None and ends[i] >= back),
                "errors_after_restart": self.errors.get(store, []),
            })
            if back is None:
                out["note"] = "not started again by the schedule (settle started it after the writes)"
            elif out["writes_after_restart"] == 0:
                out["note"] = ("no write after the restart: the write phase had ended (load for a span that covers "
                               "the recovery: --rate and --duration)")
        last = ends[n - 1] if n else fault.down_ns
        bounds = [(w.first_start_ns or fault.down_ns, fault.down_ns),
                  (fault.down_ns, ends[first_ack] if first_ack is not None else last),
                  (ends[first_ack] if first_ack is not None else last, last)]
        for name, (lo, hi) in zip(("before", "during", "after"), bounds, strict=True):
            out[name] = self._window(w, lo, hi, name == "after")
        return out

    def _first_ack_ns(self, fault: Fault) -> int | None:
        for store, f in self.faults.items():
            if f is fault and fault.back_issued_ns is not None:
                w = self.writes.get(store)
                if w is None:
                    return None
                return next((e for e, o in zip(w.end_ns, w.outcome, strict=True)
                             if o == OK and e >= fault.back_issued_ns), None)
        return None

    @staticmethod
    def _window(w: Writes, lo: int, hi: int, closed: bool) -> dict[str, Any]:
        counts = [0, 0, 0, 0]
        hist = new_histogram()
        for end, us, outcome in zip(w.end_ns, w.response_us, w.outcome, strict=True):
            if lo <= end < hi or (closed and end == hi):
                counts[outcome] += 1
                if outcome == OK:
                    record_us(hist, us * 1000)
        span = (hi - lo) / 1e9
        return {"seconds": round(span, 3), "acknowledged": counts[OK], "refused": counts[REFUSED],
                "failed": counts[FAILED], "unknown": counts[UNKNOWN],
                "ack_per_s": round(counts[OK] / span, 1) if span > 0 else None,
                "p99_ms": summarize(hist)["p99"] if counts[OK] else None}


def _s(ns: int) -> float:
    return round(ns / 1e9, 3)
