"""Isolation anomalies from transactional histories, in the style of Jepsen's Elle (docs/isolation.md).

A store runner records each transaction attempt into a `Recorder`; `check` infers version orders and
the dependency graph from the history and names what it finds (G0, G1a, G1b, G1c, G-single, G2-item,
lost update, ...), each with an example; `edn` writes the history for `elle-cli` and reads it back.

    history.py      operations, transactions, the Recorder
    workload.py     seeded transactions on a small, hot key space (list-append or registers)
    list_append.py  version orders from reads, per-key and per-transaction anomalies, ww/wr/rw edges
    registers.py    the same for read-write registers (weaker inference)
    graph.py        the dependency graph
    cycles.py       strongly connected components, classification, shortest example cycles
    checker.py      check() and its Result
    edn.py          Elle's EDN history format, both ways
    simulate.py     in-memory models of isolation levels: fixtures to test and benchmark the checker
"""

from sandbox.measure.isolation.anomalies import CLASSES, CYCLES, DEFINITIONS, Anomaly
from sandbox.measure.isolation.checker import MODELS, Counts, Result, check
from sandbox.measure.isolation.history import History, HistoryError, Mop, Op, Recorder, Txn, append, read, write

__all__ = ["CLASSES", "CYCLES", "DEFINITIONS", "MODELS", "Anomaly", "Counts", "History", "HistoryError", "Mop",
           "Op", "Recorder", "Result", "Txn", "append", "check", "read", "write"]
