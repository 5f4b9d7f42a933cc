"""What the isolate step did, per store: the namespace, the veth pair and its addresses (summary.json `network`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Isolation:
    stores: dict[str, dict[str, Any]] = field(default_factory=dict)  # store -> link, addresses, holder
    latency_injection: str = ""  # why latency cannot be injected here (the kernel's answer), or that it can

    def to_json(self) -> dict[str, Any]:
        return {"stores": self.stores, "latency_injection": self.latency_injection}
