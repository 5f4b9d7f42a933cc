"""The background sampler: every half second of a run, each store's probe (its kind's `background`, see
sandbox/stores/background.py) says what its server is doing besides serving the run; the answers become
windows on the wall clock, written to background.jsonl beside timeline.csv.

A window is bracketed by the samples: work first seen running at sample n started after sample n-1, and work
no longer running at sample m ended before it, so the window runs from n-1 to m (where the server gives its
own times, those are used). Work that started and ended between two samples (a counter went up) gets the span
between them. A probe that fails (its server killed mid-run) is reopened at a later sample; a sample never
waits longer than PROBE_TIMEOUT_S, so a paused server costs the sampler nothing but its lane.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sandbox.config import Endpoint, Settings, endpoint
from sandbox.measure.load import cancel_and_wait
from sandbox.stores import split_variant
from sandbox.stores.background import Activity, OpenProbe
from sandbox.stores.registry import registry_of

SAMPLE_S = 0.5
PROBE_TIMEOUT_S = 2.0
REOPEN_S = 2.0  # a probe that failed is tried again after this long
FILE = "background.jsonl"


@dataclass
class Window:
    store: str
    what: str
    detail: str
    start: float
    end: float
    how: str  # "running": seen in progress; "between samples": a counter went up

    def to_json(self) -> dict[str, Any]:
        return {"type": "window", "store": self.store, "what": self.what, "detail": self.detail,
                "start": round(self.start, 3), "end": round(self.end, 3), "how": self.how}


@dataclass
class _Store:
    name: str
    endpoint: Callable[[], Endpoint]  # asked at each (re)open: a store moved mid-run (isolate) is found again
    open: OpenProbe
    probe: Any = None
    failed_at: float = 0.0
    errors: int = 0
    last_error: str = ""
    last_sample: float | None = None
    sees: tuple[str, ...] = ()
    blind: tuple[str, ...] = ()
    running: dict[tuple[str, str], Window] = field(default_factory=dict)  # open windows by (what, detail)


@dataclass
class BackgroundSampler:
    """Samples the stores' background work while open (`async with`); `windows` after it closed."""

    stores: list[_Store]
    out: Path | None  # the results folder; None: keep the windows in memory only
    windows: list[Window] = field(default_factory=list)
    _task: asyncio.Task | None = None

    @classmethod
    def of(cls, probes: dict[str, tuple[Callable[[], Endpoint], OpenProbe]], out: Path | None) -> BackgroundSampler:
        return cls([_Store(name, endpoint_of, opener) for name, (endpoint_of, opener) in probes.items()], out)

    @classmethod
    def for_stores(cls, settings: Callable[[], Settings], names: list[str], out: Path | None) -> BackgroundSampler:
        """A sampler of every named store ("kind" or "kind:variant") whose kind declares a probe; `settings`
        gives the run's settings as they are when a probe (re)opens."""
        registry = registry_of(settings())
        probes: dict[str, tuple[Callable[[], Endpoint], OpenProbe]] = {}
        def endpoint_of(kind: str) -> Callable[[], Endpoint]:
            return lambda: endpoint(settings(), kind)

        for name in names:
            kind = registry.kind(split_variant(name)[0])
            if kind.background is not None:
                probes[name] = (endpoint_of(kind.name), kind.background)
        return cls.of(probes, out)

    async def __aenter__(self) -> BackgroundSampler:
        if self.stores:
            self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            await cancel_and_wait([self._task])
        now = time.time()
        for store in self.stores:
            for window in store.running.values():  # still running at the end
                window.end = now
                self.windows.append(window)
            store.running.clear()
            if store.probe is not None:
                with contextlib.suppress(Exception):
                    await store.probe.close()
        self._write()

    async def _run(self) -> None:
        while True:
            started = time.monotonic()
            await asyncio.gather(*(self._sample(s) for s in self.stores))
            await asyncio.sleep(max(0.0, SAMPLE_S - (time.monotonic() - started)))

    async def _sample(self, store: _Store) -> None:
        now = time.time()
        try:
            async with asyncio.timeout(PROBE_TIMEOUT_S):
                if store.probe is None:
                    if now - store.failed_at < REOPEN_S:
                        return
                    store.probe = await store.open(store.endpoint())
                seen = await store.probe.sample()
                store.sees, store.blind = tuple(store.probe.sees), tuple(store.probe.blind)
        except Exception as exc:  # its server is down or paused: no answer is no finding
            store.errors += 1
            store.last_error = f"{type(exc).__name__}: {exc}"[:160]
            store.failed_at = now
            if store.probe is not None:
                probe, store.probe = store.probe, None
                with contextlib.suppress(Exception):
                    async with asyncio.timeout(1.0):
                        await probe.close()
            store.last_sample = None  # the next answer brackets nothing before it
            return
        self._merge(store, seen, now)

    def _merge(self, store: _Store, seen: list[Activity], now: float) -> None:
        since = store.last_sample if store.last_sample is not None else now
        running = {}
        for a in seen:
            if a.end is not None:  # started and ended between two samples
                start = a.start if a.start is not None else since
                self.windows.append(Window(store.name, a.what, a.detail, min(start, a.end), a.end,
                                           "between samples"))
                continue
            key = (a.what, a.detail)
            window = store.running.pop(key, None) or Window(store.name, a.what, a.detail,
                                                            a.start if a.start is not None else since, now,
                                                            "running")
            window.end = now
            running[key] = window
        for window in store.running.values():  # no longer running: it ended since the last sample
            window.end = now
            self.windows.append(window)
        store.running = running
        store.last_sample = now

    def probes(self) -> list[dict[str, Any]]:
        """Per store, what its probe sees and cannot see, and whether it answered."""
        out = []
        for s in self.stores:
            item = {"type": "probe", "store": s.name, "sees": list(s.sees), "blind": list(s.blind),
                    "failed_samples": s.errors}
            if s.errors:
                item["last_error"] = s.last_error
            out.append(item)
        return out

    def _write(self) -> None:
        if self.out is None:
            return
        self.out.mkdir(parents=True, exist_ok=True)
        with (self.out / FILE).open("a") as f:
            for item in [*self.probes(), *(w.to_json() for w in sorted(self.windows, key=lambda w: w.start))]:
                f.write(json.dumps(item) + "\n")
