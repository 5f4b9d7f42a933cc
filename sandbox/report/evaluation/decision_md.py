"""decision.md: an architecture decision record from the verdicts, every number linked to the run and the
summary.json table (dotted path, as the link's fragment) it was read from."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sandbox.report.evaluation.decision_section import decision_lines, link
from sandbox.report.evaluation.proposal import Decision, choose
from sandbox.report.evaluation.score import NOT_MEASURED, NOT_MET, Measured, Verdict
from sandbox.workload.requirements import Requirements
from sandbox.workload.schema import Model

__all__ = ["DIAGRAM", "choose", "lines", "link", "write"]
DIAGRAM = "decision.svg"  # the architecture and data-flow diagram, beside decision.md (inlined in decision.html)


def write(folder: Path, text: list[str]) -> Path:
    path = folder / "decision.md"
    tmp = path.with_suffix(".tmp")
    tmp.write_text("\n".join(text) + "\n")
    tmp.replace(path)  # never a half-written record
    return path


def lines(file: Path, req: Requirements, model: Model, stores: list[str], verdicts: list[Verdict],
          measured: list[Measured], servers: dict[str, str], decision: Decision,
          durability_profile: str = "default") -> list[str]:
    """The record as Markdown lines; decision.html renders the same lines (decision_html.py)."""
    by_store = decision.by_store
    out = [f"# Decision record: storage for the {model.name} model", "",
           f"Status: proposed, from measurements of {datetime.now(UTC):%Y-%m-%d %H:%M} UTC "
           f"(`sandbox evaluate {file}`).", "", "## Context", ""]
    if req.description:
        out += [req.description, ""]
    sizes = {x.measurement.orders for x in measured if x.measurement.kind != "durability"}
    out += [f"- Model `{model.name}` ({model.path}), mix `{req.mix}`; peak {req.load.peak_rate:g} operations/s, "
            f"{req.load.data_size:,} {model.root} instances now.",
            f"- Measured on this machine (2 cores shared by the servers and the client) at small sizes "
            f"({', '.join(f'{n:,}' for n in sorted(sizes)) or 'none'} {model.root} instances): the numbers "
            "rank the options here; they do not size production.",
            "- Servers: " + "; ".join(f"{s}: {servers.get(s) or 'did not answer'}" for s in stores)]
    if req.durability is not None:
        out.append(f"- Durability trials at the profile `{durability_profile}` (the servers as they would run); "
                   "the latency runs at the settings the stack was started with.")
    out += ["", "## Requirements", ""]
    out += [f"- `{p}`: {t.target} at {t.rate:g}/s" for p, t in req.latency.items()]
    if req.durability is not None:
        out.append(f"- durability: acknowledged writes lost on a process crash: {req.durability.lost_acknowledged}")
    out += [f"- consistency: read-your-writes {'required' if req.consistency.read_your_writes else 'not required'}"
            f", no lost updates {'required' if req.consistency.no_lost_updates else 'not required'}"]
    if req.budget:
        out.append(f"- budget: {req.budget}")
    out += ["", "## Options considered", ""]
    for store in stores:
        out += _option(store, by_store[store], servers)
    out += ["## Decision", "", *decision_lines(decision, stores, req)]
    out += ["## Architecture and data flow", "", f"![architecture and data flow]({DIAGRAM})", "",
            "Drawn from the decision above: each flow is labelled with what was measured on it, or "
            "\"not measured\".", ""]
    out += ["## Consequences", "", *_consequences(decision, stores)]
    out += ["", "## Not measured, or not measurable here", ""]
    missing = [v for v in verdicts if v.status == NOT_MEASURED]
    out += [f"- {v.store}: {v.requirement}: {v.why}" for v in missing] or ["- nothing"]
    stand_ins = sorted({f"{v.store} ({v.server})" for v in verdicts if v.stand_in})
    if stand_ins:
        out.append(f"- Stand-ins answered for {', '.join(stand_ins)}: no number here is evidence for the product.")
    out.append("- Isolation anomalies: no measurement in evaluate yet.")
    out += ["", "## Runs behind this record", "", "| run | for | |", "|---|---|---|"]
    out += [f"| [{x.run}](../{x.run}/summary.json) | {x.measurement.purpose} | "
            f"{'reused (same model, seed, servers, settings)' if x.reused else 'measured now'} |" for x in measured]
    if decision.strategy is not None and decision.strategy.run:
        out.append(f"| [{decision.strategy.run}](../{decision.strategy.run}/summary.json) | the write strategy "
                   "between the roles | an earlier strategies run on this model |")
    return out


def _option(store: str, vs: list[Verdict], servers: dict[str, str]) -> list[str]:
    server = next((v.server for v in vs if v.server), servers.get(store, ""))
    out = [f"### {store} ({server or 'server unknown'})", ""]
    if any(v.stand_in for v in vs):
        out += [f"{server} is a stand-in: its numbers are the stand-in's, not evidence for the product.", ""]
    out += ["| requirement | verdict | margin | evidence |", "|---|---|---|---|"]
    for v in vs:
        evidence = "; ".join(link(e) for e in v.evidence) or v.why or "—"
        if v.evidence and v.why:
            evidence += f" ({v.why})"
        out.append(f"| {v.requirement} | {v.status} | {v.margin or '—'} | {evidence} |")
    return [*out, ""]


def _consequences(decision: Decision, stores: list[str]) -> list[str]:
    by_store, chosen, out = decision.by_store, decision.chosen, []
    named = set(decision.stores)
    for store in stores:
        if store in named:
            continue
        failed = [v for v in by_store[store] if v.status == NOT_MET]
        if store in decision.not_record:
            continue  # said below, with the verdict that excludes it
        if failed:
            v = failed[0]
            why = "; ".join(link(e) for e in v.evidence) or v.why
            out.append(f"- {store} is ruled out: {v.requirement}: {v.margin or v.status} ({why}).")
        elif chosen is not None:
            out.append(f"- {store} fails nothing measured; {chosen} came first by more requirements met, then a "
                       "product before a stand-in, then the larger latency margins (see the tables above).")
    for store, v in decision.not_record.items():
        why = "; ".join(link(e) for e in v.evidence) or v.why
        ruled_out = "" if store in named else "ruled out and "
        out.append(f"- {store} is {ruled_out}excluded as system of record: {v.requirement}: {v.margin or v.status} "
                   f"({why}).")
    if chosen is not None:
        open_ones = [v for v in by_store[chosen] if v.status == NOT_MEASURED]
        out += [f"- For {chosen}, still open: {v.requirement} ({v.why})." for v in open_ones]
    for role in decision.roles:
        if role.store is not None:
            open_ones = [v for v in by_store[role.store] if v.status == NOT_MEASURED]
            out += [f"- For {role.store} ({role.role}), still open: {v.requirement} ({v.why})." for v in open_ones]
    return out or ["- none beyond the decision"]
