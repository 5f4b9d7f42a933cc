"""The record's "Decision" section: one store, or the polyglot layout (roles, the store per role, the write
strategy between them, the cost per month), each number linked to the run it came from."""

from __future__ import annotations

from decimal import Decimal

from sandbox.report.evaluation.proposal import Decision
from sandbox.report.evaluation.score import MET, NOT_MET, Evidence
from sandbox.workload.requirements import Requirements


def link(e: Evidence) -> str:
    return f"[{e.shown}](../{e.run}/summary.json#{e.path})"


def decision_lines(decision: Decision, stores: list[str], req: Requirements) -> list[str]:
    by_store, chosen = decision.by_store, decision.chosen
    if chosen is not None:
        met = [v for v in by_store[chosen] if v.status == MET]
        out = [f"**{chosen}**: it fails none of the requirements and meets {len(met)} of "
               f"{len(by_store[chosen])} as measured here."]
        if any(v.stand_in for v in by_store[chosen]):
            server = next(v.server for v in by_store[chosen] if v.server)
            out.append(f"{chosen} was measured on a stand-in ({server}): confirm on the "
                       "product before relying on this choice.")
        return [*out, "", *_cost(decision, req), ""]
    out = ["No single store meets every requirement measured here: " + "; ".join(
        f"{s} fails {next(v.requirement for v in by_store[s] if v.status == NOT_MET)}" for s in stores) + ".", ""]
    if not decision.roles:
        out += ["No polyglot layout either: no store meets what a system of record must as measured here (its "
                "durability, update and visibility requirements, and every write of the mix answered within its "
                "target), so none can hold the writes (see Consequences).", ""]
        return out
    out += ["A polyglot layout: the system of record holds every write; each other role is derived from it.", "",
            "| role | store | serves | why | evidence |", "|---|---|---|---|---|"]
    for r in decision.roles:
        store = f"**{r.store}**" if r.store else "none measured here"
        evidence = "; ".join(link(e) for e in r.evidence) or "—"
        out.append(f"| {r.role} | {store} | {', '.join(r.patterns) or 'every write of the mix'} | {r.why} | "
                   f"{evidence} |")
    out += ["", *_strategy(decision), "", *_cost(decision, req), ""]
    return out


def _strategy(decision: Decision) -> list[str]:
    s = decision.strategy
    if s is None:
        return ["Write strategy: none needed (no derived store was found to keep in step)."]
    if s.strategy is None:
        return [f"Write strategy between {s.record} and {s.derived}: not measured here (no strategies run of "
                f"this pair on this model in results/); measure it with `{s.command}`, then evaluate again."]
    out = [f"Write strategy: **{s.strategy}** from {s.record} to {s.derived}, chosen from the measured strategies "
           "(one that promises convergence and converged first, then the fewest orders divergent after "
           "recovery, then the shortest lag):"]
    return out + [f"- {link(e)}" for e in s.evidence]


def _cost(decision: Decision, req: Requirements) -> list[str]:
    """Cost per month: the footprint run's projected price per store named, and their total where all have one."""
    stores = decision.stores
    if not stores:
        return []
    budget = f" against the budget {req.budget}" if req.budget else ""
    figures = {s: next((v for v in decision.by_store[s] if v.kind == "footprint" and v.evidence), None)
               for s in stores}
    missing = [s for s, v in figures.items() if v is None]
    known = {s: v for s, v in figures.items() if v is not None}
    out = []
    if known:
        out.append(f"Cost per month{budget} (the footprint experiment's projection at the data size now, its "
                   "sample price table; replicas, compute and IOPS not included):")
        out += [f"- {s}: {link(v.evidence[0])}" for s, v in known.items()]
    if missing:
        out.append(f"Cost per month of {', '.join(missing)}: not measured: no cost figure (no footprint run with a "
                   "projection for it here; a requirements file without `budget` plans none), so "
                   + ("the total is not estimated." if len(stores) > 1 else "no total."))
    elif len(known) > 1:
        out.append(f"- total: the sum of the {len(known)} figures above (each linked), "
                   f"{sum(Decimal(v.evidence[0].shown.split()[0]) for v in known.values())} "
                   f"{known[stores[0]].evidence[0].shown.split()[1].split('/')[0]}/month.")
    return out
