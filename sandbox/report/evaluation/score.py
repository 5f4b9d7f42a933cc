"""Per store, per requirement: met / not met / not measured, with the margin and the run and table behind it.

Every number a verdict states comes with an Evidence: the run folder and the summary.json path it was read from
(decision.md links there). A value a stand-in server measured is marked: it is the stand-in's, not the product's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sandbox.report.evaluation.plan import Measurement
from sandbox.report.folder import STAND_INS
from sandbox.workload.requirements import MONEY as _MONEY
from sandbox.workload.requirements import Requirements

MET, NOT_MET, NOT_MEASURED = "met", "not met", "not measured"


@dataclass(frozen=True)
class Evidence:
    run: str  # the results folder's name (under results/)
    path: str  # dotted path into that run's summary.json, e.g. mix.capacity.postgres.curve.0
    shown: str  # the number as the record states it, e.g. "p99 12.3 ms at 200/s"


@dataclass
class Verdict:
    store: str
    requirement: str
    status: str
    margin: str = ""  # e.g. "7.7 ms under the target"
    why: str = ""  # what decided it, or why it was not measured
    evidence: list[Evidence] = field(default_factory=list)
    server: str = ""
    stand_in: bool = False
    kind: str = ""  # what measured it: capacity | durability | visibility | updates | answers | budget
    patterns: list[str] = field(default_factory=list)  # the access patterns it is about (a target's; those lacking)


@dataclass(frozen=True)
class Measured:
    """A measurement and the run that holds it (fresh or reused)."""

    measurement: Measurement
    run: str
    summary: dict[str, Any]
    reused: bool


def _server(summary: dict[str, Any], store: str) -> tuple[str, bool]:
    s = (summary.get("stores", {}).get(store) or {}).get("server") or {}
    product = str(s.get("product", ""))
    return f"{product} {s.get('version', '')}".strip(), product.startswith(STAND_INS)


def score(measured: Measured, store: str) -> Verdict:
    m = measured.measurement
    server, stand_in = _server(measured.summary, store)
    verdict = {"capacity": _capacity, "durability": _durability, "visibility": _visibility,
               "updates": _updates, "footprint": _footprint}[m.kind](measured, store)
    verdict.server, verdict.stand_in, verdict.kind = server, stand_in, m.kind
    if m.pattern:
        verdict.patterns = [m.pattern]
    if store not in measured.summary.get("stores", {}) and verdict.status != NOT_MEASURED:
        verdict.status, verdict.why = NOT_MEASURED, "the run left this store out (see its notes)"
    return verdict


def _capacity(measured: Measured, store: str) -> Verdict:
    m, run = measured.measurement, measured.run
    mix = measured.summary.get("mix") or {}
    why_not = (mix.get("not_answerable") or {}).get(store, {}).get(m.pattern)
    if why_not:
        return Verdict(store, m.purpose, NOT_MET, why=f"cannot answer {m.pattern}: {why_not}")
    result = (mix.get("capacity") or {}).get(store)
    if result is None:
        return Verdict(store, m.purpose, NOT_MEASURED, why="no capacity result for this store in the run")
    rate = float(m.params["start_rate"])
    percentile = m.params["slo"].split("=")[0]  # "p99"
    column = f"{percentile}_ms"
    base = f"mix.capacity.{store}"
    for i, step in enumerate(result.get("curve", [])):
        if abs(float(step["rate"]) - rate) < 0.05:
            value = step.get(column)
            limit = float(m.params["slo"].split("=")[1].removesuffix("ms"))
            shown = f"{percentile} {value:g} ms at {step['rate']:g}/s (achieved {step.get('achieved')}/s)" \
                if value is not None else f"no {percentile} at {step['rate']:g}/s"
            evidence = [Evidence(run, f"{base}.curve.{i}", shown)]
            if result.get("capacity_ops_s") is not None:
                evidence.append(Evidence(run, f"{base}.capacity_ops_s",
                                         f"capacity {result['capacity_ops_s']:g}/s at {result['slo']}"))
            # One short step on a 2-core machine the client shares: say when the host, not the store, was full.
            host = "the host was saturated at this step (client and servers share its cores): one trial, " \
                "repeat before relying on it" if "host-saturated" in step.get("flags", []) else ""
            if step.get("holds") and value is not None:
                return Verdict(store, m.purpose, MET, f"{limit - value:,.2f} ms under the target", why=host,
                               evidence=evidence)
            over = f"{value - limit:,.2f} ms over the target" if value is not None else "no percentile"
            errors = f"; {step['errors']} errors ({step.get('first_error')})" if step.get("errors") else ""
            return Verdict(store, m.purpose, NOT_MET, over + errors, why=host, evidence=evidence)
    return Verdict(store, m.purpose, NOT_MEASURED, why=f"the search did not try {rate:g}/s")


def _durability(measured: Measured, store: str) -> Verdict:
    m, run = measured.measurement, measured.run
    rows = [(i, r) for i, r in enumerate((measured.summary.get("durability") or {}).get("rows", []))
            if r.get("store") == store]
    if not rows:
        return Verdict(store, m.purpose, NOT_MEASURED, why="no crash trial of this store in the run (the native "
                       "backend kills servers; see the run's notes)")
    errors = [r["error"] for _, r in rows if r.get("error")]
    if errors:
        return Verdict(store, m.purpose, NOT_MEASURED, why=f"the crash trial failed: {errors[0]}")
    i, worst = max(rows, key=lambda ir: int(ir[1].get("lost") or 0))
    bound = int(str(m.purpose).split("at most ")[1].split()[0]) if "at most " in m.purpose else 0
    lost = int(worst.get("lost") or 0)
    evidence = [Evidence(run, f"durability.rows.{i}", f"{lost} of {worst.get('acknowledged')} acknowledged lost "
                         f"({worst.get('setting')})")]
    status = MET if lost <= bound else NOT_MET
    margin = f"{bound - lost} under the bound" if status == MET else f"{lost - bound} over the bound"
    return Verdict(store, m.purpose, status, margin, evidence=evidence)


def _visibility(measured: Measured, store: str) -> Verdict:
    m, run = measured.measurement, measured.run
    v = (measured.summary.get("visibility") or {}).get(store)
    if not v:
        return Verdict(store, m.purpose, NOT_MEASURED, why="no visibility probe of this store in the run")
    sampled, first, never = int(v.get("sampled", 0)), int(v.get("visible_at_first_probe", 0)), \
        int(v.get("never_visible", 0))
    evidence = [Evidence(run, f"visibility.{store}", f"{first} of {sampled} writes visible at the first read")]
    if sampled and first == sampled and not never:
        return Verdict(store, m.purpose, MET, "every sampled write visible to the first read", evidence=evidence)
    if not sampled:
        return Verdict(store, m.purpose, NOT_MEASURED, why=str(v.get("verdict", "nothing sampled")))
    return Verdict(store, m.purpose, NOT_MET, f"{sampled - first} of {sampled} not visible at once", evidence=evidence)


def _updates(measured: Measured, store: str) -> Verdict:
    m, run = measured.measurement, measured.run
    check = ((measured.summary.get("mix") or {}).get("update_check") or {}).get("stores", {}).get(store)
    if check is None:
        return Verdict(store, m.purpose, NOT_MEASURED, why="no update check of this store in the run")
    if check.get("skipped"):
        return Verdict(store, m.purpose, NOT_MEASURED, why=str(check["skipped"]))
    evidence = [Evidence(run, f"mix.update_check.stores.{store}.findings",
                         f"{check.get('findings', 0)} lost or impossible updates")]
    if check.get("error"):
        return Verdict(store, m.purpose, NOT_MET, why=str(check["error"]), evidence=evidence)
    if check.get("findings"):
        return Verdict(store, m.purpose, NOT_MET, f"{check['findings']} findings", evidence=evidence)
    return Verdict(store, m.purpose, MET, "0 findings", evidence=evidence)


def _footprint(measured: Measured, store: str) -> Verdict:
    """The monthly cost the footprint experiment projected for the data held now, against the budget."""
    m, run = measured.measurement, measured.run
    footprint = measured.summary.get("footprint") or {}
    projection = footprint.get("projection") or {}
    row = (projection.get("stores") or {}).get(store)
    if row is None:
        why = (projection.get("not_projected") or {}).get(store) or (footprint.get("not_measured") or {}).get(store)
        return Verdict(store, m.purpose, NOT_MEASURED, why=f"no cost figure for this store: {why or 'not in the run'}")
    cost, currency = Decimal(row["monthly_cost_now"]), str(projection.get("currency", ""))
    evidence = [Evidence(run, f"footprint.projection.stores.{store}.monthly_cost_now",
                         f"{cost} {currency}/month for {projection.get('entities', 0):,} root instances "
                         f"({row.get('tier', row.get('held_in'))})")]
    budget = _MONEY.match(m.budget.strip())
    if budget is None or budget[2] != currency:
        return Verdict(store, m.purpose, NOT_MEASURED, why=f"the prices are in {currency}, the budget is "
                       f"{m.budget}: not compared", evidence=evidence)
    limit = Decimal(budget[1])
    if cost <= limit:
        return Verdict(store, m.purpose, MET, f"{limit - cost} {currency} under the budget", evidence=evidence)
    return Verdict(store, m.purpose, NOT_MET, f"{cost - limit} {currency} over the budget", evidence=evidence)


def answerability(store: str, reasons: dict[str, str | None], req: Requirements) -> Verdict:
    """Whether the store's design answers every pattern of the mix and of the latency targets (no run needed)."""
    lacking = {p: why for p, why in reasons.items() if why}
    purpose = f"answers every access pattern the {req.mix} mix and the latency targets use"
    if lacking:
        first = next(iter(lacking))
        return Verdict(store, purpose, NOT_MET, f"{len(lacking)} of {len(reasons)} not answerable",
                       why=f"{first}: {lacking[first]}" + (f" (and {', '.join(list(lacking)[1:])})"
                                                           if len(lacking) > 1 else ""),
                       kind="answers", patterns=list(lacking))
    return Verdict(store, purpose, MET, f"all {len(reasons)} answered natively", kind="answers")


def unmeasurable(req: Requirements, stores: list[str]) -> list[Verdict]:
    """Requirements no evidence source here can measure: said, never guessed (the budget is the footprint
    run's now; isolation has no run in evaluate yet)."""
    return []
