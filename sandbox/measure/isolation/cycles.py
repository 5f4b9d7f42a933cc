"""Cycles in the dependency graph: strongly connected components, then per component its most severe
class and a shortest example cycle through it.

Per component, in order (each search restricted to the component, none recursive):
  G0        the ww-only subgraph has a cycle (Tarjan on it); example: shortest cycle through a ww edge.
  G1c       the ww+wr subgraph has a cycle (it must hold a wr edge, else it was G0).
  G-single  an rw edge u -> v with a ww/wr path v ~> u. Here ww+wr is acyclic (no G0/G1c), so such a
            path only visits nodes between v and u in a topological order: each search stays in that
            window, which keeps it near-linear on real histories.
  G2-item   otherwise every cycle has two or more rw edges; example: the shortest cycle through an rw edge.
A search that exceeds its budget of node visits stops: the component is reported under its example's
class, and as `cycle-search-incomplete`.
"""

from __future__ import annotations

import heapq
import itertools
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from sandbox.measure.isolation.graph import ALL, NAMES, PREFERENCE, RW, WR, WW, DepGraph

Step = tuple[int, int, int]  # (from, to, relation)


@dataclass
class Budget:
    left: int

    def spend(self, n: int = 1) -> bool:
        self.left -= n
        return self.left >= 0


def components(graph: DepGraph, nodes: Iterable[int], mask: int = ALL, member: set[int] | None = None
               ) -> list[list[int]]:
    """Tarjan's strongly connected components over edges carrying `mask`, within `member` (all if None),
    iteratively (no recursion limit at 100k transactions). Only components of two or more nodes."""
    succ = graph.succ
    index: dict[int, int] = {}
    low: dict[int, int] = {}
    on_stack: set[int] = set()
    stack: list[int] = []
    out: list[list[int]] = []
    for root in nodes:
        if root in index:
            continue
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        work = [(root, iter(succ.get(root, {}).items()))]
        while work:
            v, edges = work[-1]
            for w, rels in edges:
                if not rels & mask or (member is not None and w not in member):
                    continue
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on_stack.add(w)
                    work.append((w, iter(succ.get(w, {}).items())))
                    break
                if w in on_stack and index[w] < low[v]:
                    low[v] = index[w]
            else:  # every edge of v done
                work.pop()
                if work and low[v] < low[work[-1][0]]:
                    low[work[-1][0]] = low[v]
                if low[v] == index[v]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on_stack.discard(w)
                        comp.append(w)
                        if w == v:
                            break
                    if len(comp) > 1:
                        out.append(comp)
    return out


def path(graph: DepGraph, src: int, dst: int, mask: int, member: set[int], budget: Budget,
         pos: dict[int, int] | None = None) -> list[int] | None:
    """Shortest path src ~> dst over edges carrying `mask` inside `member` (BFS), optionally only through
    nodes whose topological position is at most dst's; None if there is none or the budget ran out."""
    succ = graph.succ
    limit = pos[dst] if pos is not None else 0
    parent = {src: src}
    queue = deque([src])
    while queue:
        v = queue.popleft()
        if not budget.spend():
            return None
        for w, rels in succ.get(v, {}).items():
            if w in parent or not rels & mask or w not in member or (pos is not None and pos[w] > limit):
                continue
            parent[w] = v
            if w == dst:
                out = [w]
                while out[-1] != src:
                    out.append(parent[out[-1]])
                return out[::-1]
            queue.append(w)
    return None


def _steps(graph: DepGraph, first: Step, rest: list[int], mask: int) -> list[Step]:
    """A cycle as steps: the given first edge, then the path back, each edge shown as its preferred relation."""
    out = [first]
    for a, b in itertools.pairwise(rest):
        rels = graph.rels(a, b) & mask
        out.append((a, b, next(r for r in PREFERENCE if rels & r)))
    return out


def _shortest_through(graph: DepGraph, comp: list[int], rel: int, mask: int, budget: Budget, tries: int,
                      pos: dict[int, int] | None = None) -> tuple[list[Step] | None, bool]:
    """The shortest cycle through one of the component's `rel` edges (up to `tries` found), the rest of it
    over `mask`; and whether the search finished within budget."""
    member = set(comp)
    candidates = [(u, v) for u in comp for v, rels in graph.succ.get(u, {}).items() if rels & rel and v in member]
    if pos is not None:  # only a backward edge can close a cycle through an acyclic rest; near ones first
        candidates = sorted(((u, v) for u, v in candidates if pos[v] < pos[u]), key=lambda e: pos[e[0]] - pos[e[1]])
    best: list[Step] | None = None
    for u, v in candidates:
        back = path(graph, v, u, mask, member, budget, pos)
        if back is not None and (best is None or len(back) < len(best)):
            best = _steps(graph, (u, v, rel), back, mask)
            if len(best) == 2:
                break  # no shorter cycle exists
        if budget.left < 0:
            return best, False
        if best is not None:
            tries -= 1
            if tries <= 0:
                break
    return best, True


def _topological(graph: DepGraph, comp: list[int], mask: int) -> dict[int, int]:
    """Positions in a topological order of the (acyclic) `mask` subgraph of comp; lowest id first among ready
    nodes, so the order follows the history and rw windows stay short."""
    member = set(comp)
    indegree = dict.fromkeys(comp, 0)
    for u in comp:
        for v, rels in graph.succ.get(u, {}).items():
            if rels & mask and v in member:
                indegree[v] += 1
    ready = [u for u, d in indegree.items() if d == 0]
    heapq.heapify(ready)
    pos: dict[int, int] = {}
    while ready:
        u = heapq.heappop(ready)
        pos[u] = len(pos)
        for v, rels in graph.succ.get(u, {}).items():
            if rels & mask and v in member:
                indegree[v] -= 1
                if indegree[v] == 0:
                    heapq.heappush(ready, v)
    for u in comp:  # only if the subgraph had a cycle after all: such nodes never bound a window
        pos.setdefault(u, len(comp) + len(pos))
    return pos


def kind_of(steps: list[Step]) -> str:
    """The class a cycle's own edges give it."""
    rw = sum(1 for _, _, r in steps if r == RW)
    if rw == 1:
        return "G-single"
    if rw > 1:
        return "G2-item"
    return "G1c" if any(r == WR for _, _, r in steps) else "G0"


@dataclass(frozen=True)
class Cycle:
    kind: str
    steps: list[Step]
    complete: bool  # False: the budget ran out, a more severe cycle may exist in this component
    size: int  # transactions in the component


def _rotated(steps: list[Step]) -> list[Step]:
    """The same cycle starting at its lowest position (the earliest transaction): one text per cycle."""
    first = min(range(len(steps)), key=lambda n: steps[n][0])
    return steps[first:] + steps[:first]


def classify(graph: DepGraph, comp: list[int], budget: Budget, tries: int = 8) -> Cycle:
    """The component's most severe cycle class, with a shortest example found. Existence of G0 and G1c is
    exact (Tarjan); the budget bounds only how hard the examples are minimised and the G-single search."""
    member = set(comp)
    for mask, rel, kind in ((WW, WW, "G0"), (WW | WR, WR, "G1c")):
        sub = components(graph, comp, mask, member)
        if sub:
            smallest = min(sub, key=len)
            # at least one full BFS: inside a strongly connected subgraph the first one always succeeds
            steps, _ = _shortest_through(graph, smallest, rel, mask, Budget(max(budget.left, len(smallest) + 1)),
                                         tries)
            if steps is not None:
                return Cycle(kind, _rotated(steps), True, len(comp))
    pos = _topological(graph, comp, WW | WR)
    steps, done = _shortest_through(graph, comp, RW, WW | WR, budget, tries, pos)
    if steps is not None:
        return Cycle("G-single", _rotated(steps), True, len(comp))
    # No cycle with fewer than two rw edges (when the search finished): every cycle left is G2-item.
    steps, _ = _shortest_through(graph, comp, RW, ALL, Budget(max(budget.left, len(comp) + 1)), tries)
    if steps is None:  # unreachable for a strongly connected component; kept for a safe report
        steps = [(comp[0], comp[1], RW)]
    return Cycle(kind_of(steps), _rotated(steps), done, len(comp))


def render(steps: list[Step], name: Sequence[str], key: Callable[[int, int, int], object]) -> str:
    """"T12 -ww(x)-> T40 -rw(y)-> T12": `name` per position, `key(a, b, rel)` the key behind an edge."""
    out = [name[steps[0][0]]]
    for a, b, rel in steps:
        out.append(f"-{NAMES[rel]}({key(a, b, rel)})-> {name[b]}")
    return " ".join(out)
