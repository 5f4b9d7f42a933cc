"""The architecture and data-flow diagram of a decision, as one self-contained SVG (decision.svg, inlined in
decision.html): the application, the store of each role, the write strategy between them; every flow labelled with
what was measured on it (linked to the run and table), or "not measured"."""

from __future__ import annotations

from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from sandbox.report.evaluation.proposal import SYSTEM_OF_RECORD, Decision
from sandbox.report.evaluation.score import NOT_MET, Evidence, Verdict
from sandbox.workload.requirements import Requirements

WIDTH, NODE_W, NODE_H, GAP, APP_W = 1260, 230, 64, 44, 240
APP_X, STORE_X, LABEL_X, LINE_H = 10, 740, 290, 15


@dataclass(frozen=True)
class Node:
    store: str
    role: str
    patterns: list[str]  # the latency-target patterns it serves


def _nodes(decision: Decision, stores: list[str], req: Requirements) -> list[Node]:
    targets = list(req.latency)
    if decision.chosen is not None:
        return [Node(decision.chosen, "every role", targets)]
    if decision.roles:
        given = {p for r in decision.roles[1:] if r.store for p in r.patterns}
        out = []
        for r in decision.roles:
            if r.store is None:
                continue
            mine = [p for p in targets if p not in given] if r.role == SYSTEM_OF_RECORD else \
                [p for p in r.patterns if p in targets]
            out.append(Node(r.store, r.role, mine))
        return out
    return [Node(s, "ruled out", targets) for s in stores]  # nothing chosen: every option, each marked


def _label(store: str, pattern: str, verdicts: list[Verdict]) -> tuple[str, Evidence | None]:
    for v in verdicts:
        if v.store == store and v.kind == "capacity" and pattern in v.patterns:
            if v.evidence:
                return f"{pattern}: {v.evidence[0].shown}" + (" (not met)" if v.status == NOT_MET else ""), \
                    v.evidence[0]
            return f"{pattern}: not measured ({v.why or v.status})", None
    return f"{pattern}: not measured", None


def _text(x: float, y: float, text: str, e: Evidence | None = None, cls: str = "label", end: bool = False) -> str:
    anchor = ' text-anchor="end"' if end else ""
    t = f'<text x="{x:.0f}" y="{y:.0f}" class="{cls}"{anchor}>{escape(text)}</text>'
    return f"<a href={quoteattr(f'../{e.run}/summary.json#{e.path}')}>{t}</a>" if e is not None else t


def svg(decision: Decision, stores: list[str], req: Requirements, mix: str, servers: dict[str, str]) -> str:
    verdicts = [v for vs in decision.by_store.values() for v in vs]
    nodes = _nodes(decision, stores, req)
    labels = {n.store: [_label(n.store, p, verdicts) for p in n.patterns] for n in nodes}
    rows = [max(NODE_H, (len(labels[n.store]) + 2) * LINE_H + 12) for n in nodes]
    tops = [40 + sum(rows[:i]) + GAP * i for i in range(len(nodes))]
    height = (tops[-1] + rows[-1] if nodes else 120) + 50
    app_y = (tops[0] + tops[-1] + rows[-1]) / 2 - 35 if nodes else 40
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height:.0f}" width="{WIDTH}" '
             f'height="{height:.0f}" role="img" aria-label="architecture and data flow" class="architecture">',
             "<style>.box{fill:#f4f7fb;stroke:#345;stroke-width:1.5}.out{fill:#fbeeee;stroke:#a33}"
             ".label{font:12px sans-serif;fill:#222}.title{font:bold 14px sans-serif;fill:#123}"
             ".flow{stroke:#456;stroke-width:1.5;fill:none}.sync{stroke:#a60;stroke-width:2;fill:none;"
             "stroke-dasharray:6 3}a .label{fill:#0645ad;text-decoration:underline}</style>",
             '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="8" markerHeight="8" '
             'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#456"/></marker></defs>',
             f'<g class="node" data-role="application"><rect class="box" x="{APP_X}" y="{app_y:.0f}" width="{APP_W}" '
             f'height="70" rx="6"/>', _text(APP_X + 10, app_y + 24, "application", cls="title"),
             _text(APP_X + 10, app_y + 44, f"mix {mix}, peak {req.load.peak_rate:g} ops/s (required)"), "</g>"]
    for n, top, row in zip(nodes, tops, rows, strict=True):
        cls = "box out" if n.role == "ruled out" else "box"
        parts += [f'<g class="node" data-store={quoteattr(n.store)} data-role={quoteattr(n.role)}>',
                  f'<rect class="{cls}" x="{STORE_X}" y="{top}" width="{NODE_W}" height="{row}" rx="6"/>',
                  _text(STORE_X + 10, top + 22, f"{n.store}: {n.role}", cls="title"),
                  _text(STORE_X + 10, top + 42, servers.get(n.store) or "server unknown"), "</g>"]
        # The flow ends low on the box; its labels stand right-aligned above that end, beside their own box.
        end_y = top + row - 8
        parts.append(f'<path class="flow" d="M{APP_X + APP_W},{app_y + 35:.0f} C{LABEL_X + 150},{app_y + 35:.0f} '
                     f'{LABEL_X + 200},{end_y:.0f} {STORE_X},{end_y:.0f}" marker-end="url(#arrow)"/>')
        what = {SYSTEM_OF_RECORD: "writes of the mix", "every role": "writes and reads of the mix",
                "ruled out": "the mix (ruled out)"}.get(n.role, "reads")
        lines = [(what + (": no latency target" if not n.patterns else ""), None), *labels[n.store]]
        parts += [_text(STORE_X - 10, top + 14 + i * LINE_H, t, e, end=True) for i, (t, e) in enumerate(lines)]
    parts += _sync(decision, nodes, tops, rows)
    parts.append("</svg>")
    return "\n".join(parts)


def _sync(decision: Decision, nodes: list[Node], tops: list[int], rows: list[int]) -> list[str]:
    """The record -> derived store flows, labelled with the measured strategy or 'not measured'."""
    if not decision.roles or len(nodes) < 2:
        return []
    s = decision.strategy
    out = []
    record_mid = tops[0] + rows[0] / 2
    x_right, x_bend = STORE_X + NODE_W, STORE_X + NODE_W + 30
    for n, top, row in zip(nodes[1:], tops[1:], rows[1:], strict=True):
        mid = top + row / 2
        out.append(f'<path class="sync" d="M{x_right},{record_mid:.0f} L{x_bend},{record_mid:.0f} '
                   f'L{x_bend},{mid:.0f} L{x_right},{mid:.0f}" marker-end="url(#arrow)"/>')
        if s is None or s.strategy is None or s.derived != n.store:
            text = f"kept in step from {nodes[0].store}: write strategy not measured"
            out.append(_text(x_bend + 8, (record_mid + mid) / 2, text))
            continue
        y = (record_mid + mid) / 2 - 8
        out.append(_text(x_bend + 8, y, f"write strategy: {s.strategy}", cls="title"))
        shown = s.evidence[0].shown.split(": ", 1)[1].split(", ")  # one measured figure a line
        out += [_text(x_bend + 8, y + (i + 1) * LINE_H, t, s.evidence[0]) for i, t in enumerate(shown)]
    return out
