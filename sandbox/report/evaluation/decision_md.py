"""decision.md: an architecture decision record from the verdicts, every number linked to the run and the
summary.json table (dotted path, as the link's fragment) it was read from."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sandbox.report.evaluation.score import MET, NOT_MEASURED, NOT_MET, Evidence, Measured, Verdict
from sandbox.workload.requirements import Requirements
from sandbox.workload.schema import Model


def link(e: Evidence) -> str:
    return f"[{e.shown}](../{e.run}/summary.json#{e.path})"


def choose(stores: list[str], verdicts: list[Verdict]) -> tuple[str | None, dict[str, list[Verdict]]]:
    """The store that fails no requirement and meets the most (ties: a product before a stand-in, then the larger
    summed latency margins); None when every store fails one. Also each store's verdicts."""
    by_store = {s: [v for v in verdicts if v.store == s] for s in stores}
    candidates = [s for s in stores if not any(v.status == NOT_MET for v in by_store[s])]
    if not candidates:
        return None, by_store

    def rank(s: str) -> tuple[int, bool, float]:
        # A stand-in's numbers are not the product's: at equal counts a measured product comes first.
        met = [v for v in by_store[s] if v.status == MET]
        margin = sum(float(v.margin.split()[0].replace(",", "")) for v in met if v.margin.endswith("under the target"))
        return len(met), not any(v.stand_in for v in by_store[s]), margin
    return max(candidates, key=rank), by_store


def write(folder: Path, file: Path, req: Requirements, model: Model, stores: list[str], verdicts: list[Verdict],
          measured: list[Measured], servers: dict[str, str]) -> Path:
    chosen, by_store = choose(stores, verdicts)
    lines = [f"# Decision record: storage for the {model.name} model", "",
             f"Status: proposed, from measurements of {datetime.now(UTC):%Y-%m-%d %H:%M} UTC "
             f"(`sandbox evaluate {file}`).", "", "## Context", ""]
    if req.description:
        lines += [req.description, ""]
    sizes = {x.measurement.orders for x in measured if x.measurement.kind != "durability"}
    lines += [f"- Model `{model.name}` ({model.path}), mix `{req.mix}`; peak {req.load.peak_rate:g} operations/s, "
              f"{req.load.data_size:,} {model.root} instances now.",
              f"- Measured on this machine (2 cores shared by the servers and the client) at small sizes "
              f"({', '.join(f'{n:,}' for n in sorted(sizes)) or 'none'} {model.root} instances): the numbers "
              "rank the options here; they do not size production.",
              "- Servers: " + "; ".join(f"{s}: {servers.get(s) or 'did not answer'}" for s in stores), ""]
    lines += ["## Requirements", ""]
    lines += [f"- `{p}`: {t.target} at {t.rate:g}/s" for p, t in req.latency.items()]
    if req.durability is not None:
        lines.append(f"- durability: acknowledged writes lost on a process crash: {req.durability.lost_acknowledged}")
    lines += [f"- consistency: read-your-writes {'required' if req.consistency.read_your_writes else 'not required'}"
              f", no lost updates {'required' if req.consistency.no_lost_updates else 'not required'}"]
    if req.budget:
        lines.append(f"- budget: {req.budget}")
    lines += ["", "## Options considered", ""]
    for store in stores:
        vs = by_store[store]
        server = next((v.server for v in vs if v.server), servers.get(store, ""))
        stand_in = any(v.stand_in for v in vs)
        lines += [f"### {store} ({server or 'server unknown'})", ""]
        if stand_in:
            lines += [f"{server} is a stand-in: its numbers are the stand-in's, not evidence for the product.", ""]
        lines += ["| requirement | verdict | margin | evidence |", "|---|---|---|---|"]
        for v in vs:
            evidence = "; ".join(link(e) for e in v.evidence) or v.why or "—"
            if v.evidence and v.why:
                evidence += f" ({v.why})"
            lines.append(f"| {v.requirement} | {v.status} | {v.margin or '—'} | {evidence} |")
        lines.append("")
    lines += ["## Decision", ""]
    if chosen is None:
        lines += ["No single store meets every requirement measured here: " + "; ".join(
            f"{s} fails {next(v.requirement for v in by_store[s] if v.status == NOT_MET)}" for s in stores) + ".",
            "A polyglot layout (a system of record beside a store for what it cannot meet) is the next step: it "
            "is not proposed here yet.", ""]
    else:
        met = [v for v in by_store[chosen] if v.status == MET]
        lines += [f"**{chosen}**: it fails none of the requirements and meets {len(met)} of "
                  f"{len(by_store[chosen])} as measured here."]
        if any(v.stand_in for v in by_store[chosen]):
            lines.append(f"{chosen} was measured on a stand-in ({by_store[chosen][0].server}): confirm on the "
                         "product before relying on this choice.")
        lines.append("")
    lines += ["## Consequences", ""]
    for store in stores:
        if store == chosen:
            continue
        failed = [v for v in by_store[store] if v.status == NOT_MET]
        if failed:
            v = failed[0]
            why = "; ".join(link(e) for e in v.evidence) or v.why
            lines.append(f"- {store} is ruled out: {v.requirement}: {v.margin or v.status} ({why}).")
        else:
            lines.append(f"- {store} fails nothing measured; {chosen} came first by more requirements met, then a "
                         "product before a stand-in, then the larger latency margins (see the tables above).")
    if chosen is not None:
        open_ones = [v for v in by_store[chosen] if v.status == NOT_MEASURED]
        lines += [f"- For {chosen}, still open: {v.requirement} ({v.why})." for v in open_ones]
    lines += ["", "## Not measured, or not measurable here", ""]
    missing = [v for v in verdicts if v.status == NOT_MEASURED]
    lines += [f"- {v.store}: {v.requirement}: {v.why}" for v in missing] or ["- nothing"]
    stand_ins = sorted({f"{v.store} ({v.server})" for v in verdicts if v.stand_in})
    if stand_ins:
        lines.append(f"- Stand-ins answered for {', '.join(stand_ins)}: no number here is evidence for the product.")
    lines.append("- Isolation anomalies and footprint/cost: no measurement on this branch yet.")
    lines += ["", "## Runs behind this record", "", "| run | for | |", "|---|---|---|"]
    lines += [f"| [{x.run}](../{x.run}/summary.json) | {x.measurement.purpose} | "
              f"{'reused (same model, seed, servers, settings)' if x.reused else 'measured now'} |" for x in measured]
    path = folder / "decision.md"
    path.write_text("\n".join(lines) + "\n")
    return path
