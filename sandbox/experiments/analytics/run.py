"""Ask every store the analytics query set: the first execution (cold) and repeats (warm), each timed
by TimedStore, every answer checked against the reference store's (the role `reference`: PostgreSQL in the
analytics scenario)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from sandbox.experiments.analytics.answers import QueryCheck, compare_answer
from sandbox.measure.latency import summarize
from sandbox.measure.timing import TimedStore
from sandbox.stores.analytics import Analytics, Answer, NotAnswerable, Query, QueryParams


@dataclass
class AnalyticsRun:
    params: QueryParams
    loaded: int  # orders in each store when the questions were asked
    repeats: int
    reference: str = ""  # the store whose answers the others' are compared with
    indexes: dict[str, list[str]] = field(default_factory=dict)
    checks: dict[str, dict[Query, QueryCheck]] = field(default_factory=dict)
    timed: dict[str, TimedStore] = field(default_factory=dict)  # "<query> cold" and "<query> warm" per store

    @property
    def findings(self) -> list[QueryCheck]:
        """Answers that differ from the reference's, or questions a store failed to answer."""
        return [c for checks in self.checks.values() for c in checks.values() if c.kind in ("differs", "error")]

    def to_json(self) -> dict[str, object]:
        return {
            "loaded_orders": self.loaded, "repeats": self.repeats, "reference": self.reference,
            "window": [self.params.window_start.isoformat(), self.params.window_end.isoformat()],
            "min_total": str(self.params.min_total), "top": self.params.top, "indexes": self.indexes,
            "stores": {store: {q.value: {**check.to_json(), **self.latency(store, q)}
                               for q, check in checks.items()} for store, checks in self.checks.items()},
        }

    def latency(self, store: str, query: Query) -> dict[str, object]:
        timed = self.timed.get(store)
        if timed is None:
            return {}
        out: dict[str, object] = {}
        for phase in ("cold", "warm"):
            stats = timed.stats.get(f"{query.value} {phase}")
            if stats is not None and stats.ok:
                out[f"{phase}_ms"] = summarize(stats.latency)
                out[f"{phase}_n"] = stats.ok
        return out


Tick = Callable[[], None]


async def ask_all(run: AnalyticsRun, stores: Sequence[TimedStore], tick: Tick = lambda: None) -> None:
    """One store at a time (so the stores do not compete for the machine), the reference first."""
    ordered = sorted(stores, key=lambda ts: ts.name != run.reference)
    reference: dict[Query, Answer] = {}
    for ts in ordered:
        store = ts.store
        assert isinstance(store, Analytics)
        timed = run.timed[ts.name] = TimedStore(store, op_timeout_s=max(ts.op_timeout_s or 0.0, 300.0))
        checks = run.checks[ts.name] = {}
        for query in Query:
            checks[query] = await _ask(run, timed, store, query, reference)
            tick()


async def _ask(run: AnalyticsRun, timed: TimedStore, store: Analytics, query: Query,
               reference: dict[Query, Answer]) -> QueryCheck:
    name = timed.name

    def asking() -> Callable[[], Awaitable[Answer | NotAnswerable]]:
        async def fn() -> Answer | NotAnswerable:
            try:
                return await store.answer_question(query, run.params)
            except NotAnswerable as exc:  # the model's limit, not a failure: no time is recorded for it
                return exc
        return fn

    ok, got = await timed.call(f"{query.value} cold", asking())
    if isinstance(got, NotAnswerable):
        del timed.stats[f"{query.value} cold"]
        return QueryCheck(name, query, kind="not answerable", reason=str(got))
    if not ok or got is None:
        errors = timed.stats[f"{query.value} cold"].first_errors
        return QueryCheck(name, query, kind="error", reason=errors[0] if errors else "no answer")
    for _ in range(run.repeats):
        await timed.call(f"{query.value} warm", asking())
    if name == run.reference:
        reference[query] = got
        return QueryCheck(name, query, kind="reference", rows=len(got.rows), how=got.how)
    if query not in reference:
        return QueryCheck(name, query, kind="error", reason=f"{run.reference} gave no answer to compare with")
    return compare_answer(name, query, reference[query], got)
