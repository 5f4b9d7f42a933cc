"""What the replicas scenario measured: each guarantee's row and each fault on a replica."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sandbox.experiments.replicas.faults import ReplicaFault
from sandbox.experiments.replicas.run import GuaranteeRow


@dataclass
class ReplicaResults:
    rows: list[GuaranteeRow] = field(default_factory=list)
    faults: list[ReplicaFault] = field(default_factory=list)
    without: dict[str, str] = field(default_factory=dict)  # store -> why it has no replica here
    pairs: int = 0  # namespaces used so far

    def to_json(self) -> dict[str, Any]:
        return {"guarantees": [r.to_json() for r in self.rows], "faults": [f.to_json() for f in self.faults],
                "without_replicas": self.without}
