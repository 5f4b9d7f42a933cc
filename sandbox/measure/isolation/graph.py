"""The dependency graph between transactions (Adya's DSG, as far as a history lets us infer it).

Nodes are positions in the checker's list of transactions; an edge a -> b carries a bit mask of the
relations that order a before b:

    ww  b overwrote (appended after) a's version of some key
    wr  b read a version a wrote
    rw  b overwrote the version a read (an anti-dependency: a did not see b's write)

The first key behind each (a, b, relation) is kept to explain the edge ("-ww(x)->").
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sandbox.measure.isolation.history import Key

WW, WR, RW = 1, 2, 4
ALL = WW | WR | RW
NAMES = {WW: "ww", WR: "wr", RW: "rw"}
PREFERENCE = (WW, WR, RW)  # when an edge carries several relations, the one a reader is shown


@dataclass
class DepGraph:
    succ: dict[int, dict[int, int]] = field(default_factory=dict)
    # (a * nodes + b) * 8 + relation -> key: one int per edge costs far less than a tuple at 100k txns
    why: dict[int, Key] = field(default_factory=dict)
    nodes: int = 0  # how many transactions the positions range over

    def add(self, a: int, b: int, rel: int, key: Key) -> None:
        if a == b:
            return  # a transaction does not depend on itself
        out = self.succ.get(a)
        if out is None:
            out = self.succ[a] = {}
        mask = out.get(b, 0)
        if not mask & rel:
            out[b] = mask | rel
            self.why[(a * self.nodes + b) * 8 + rel] = key

    def rels(self, a: int, b: int) -> int:
        return self.succ.get(a, {}).get(b, 0)

    def key(self, a: int, b: int, rel: int) -> Key:
        return self.why[(a * self.nodes + b) * 8 + rel]

    def edges(self) -> int:
        return sum(len(out) for out in self.succ.values())

    def counts(self) -> dict[str, int]:
        """Edges per relation (an edge carrying two relations counts for both)."""
        out = dict.fromkeys(NAMES.values(), 0)
        for succ in self.succ.values():
            for mask in succ.values():
                for rel, name in NAMES.items():
                    if mask & rel:
                        out[name] += 1
        return out
