"""The anomaly classes the checker names, and the findings it collects (counts plus a few examples each)."""

from __future__ import annotations

from dataclasses import dataclass, field

# Cycle classes, most severe first (the weakest isolation level that forbids each comes first): one
# strongly connected component of the dependency graph is reported under the first class it contains.
CYCLES = ("G0", "G1c", "G-single", "G2-item")
# One line each; docs/isolation.md has an example of every class.
DEFINITIONS: dict[str, str] = {
    "G0": "write cycle: transactions overwrite each other in a cycle (ww edges only)",
    "G1a": "aborted read: a committed transaction read a value written by a transaction that failed",
    "G1b": "intermediate read: a committed transaction read a state another transaction later overwrote "
           "within itself",
    "G1c": "cyclic information flow: a cycle of ww and wr edges, at least one wr",
    "G-single": "read skew: a cycle with exactly one rw (anti-dependency) edge",
    "G2-item": "anti-dependency cycle (e.g. write skew): a cycle with two or more rw edges",
    "lost-update": "two or more committed transactions read the same version of a key and each then wrote it",
    "internal": "a transaction's read contradicts its own writes (its appends missing or out of place, its "
                "write not returned, its later write already visible) or its earlier state went backwards",
    "non-repeatable-read": "a transaction read a key again and saw other transactions' writes its first read "
                           "did not (read committed allows it)",
    "incompatible-order": "two reads of a key are not prefixes of one another: no single order of appends "
                          "explains both",
    "duplicate": "a read shows the same appended element more than once",
    "garbage-read": "a read shows a value no transaction wrote",
    "cycle-search-incomplete": "the search budget ran out in a component: its class is the example's, and a "
                               "more severe cycle may exist there",
}
CLASSES = tuple(DEFINITIONS)
EXAMPLES_KEPT = 20  # per class: enough to read, bounded when a store produces thousands


@dataclass(frozen=True, slots=True)
class Anomaly:
    kind: str
    txns: tuple[int, ...]  # ids (invocation indexes) of the transactions involved
    text: str  # one line a reader can follow
    cycle: str | None = None  # for cycle classes: "T12 -ww(x)-> T40 -rw(y)-> T12"
    detail: tuple[str, ...] = ()  # the transactions involved, one line each

    def to_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"kind": self.kind, "txns": list(self.txns), "text": self.text}
        if self.cycle is not None:
            out["cycle"] = self.cycle
        if self.detail:
            out["detail"] = list(self.detail)
        return out


@dataclass
class Findings:
    """Counts per class and the first few examples of each."""

    keep: int = EXAMPLES_KEPT
    counts: dict[str, int] = field(default_factory=dict)
    examples: dict[str, list[Anomaly]] = field(default_factory=dict)

    def add(self, kind: str, txns: tuple[int, ...], text: str, cycle: str | None = None,
            detail: tuple[str, ...] = ()) -> None:
        if kind not in DEFINITIONS:
            raise ValueError(f"unknown anomaly class {kind!r}")
        self.counts[kind] = self.counts.get(kind, 0) + 1
        kept = self.examples.setdefault(kind, [])
        if len(kept) < self.keep:
            kept.append(Anomaly(kind, txns, text, cycle, detail))

    def __contains__(self, kind: str) -> bool:
        return kind in self.counts
