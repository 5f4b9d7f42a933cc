"""Captures tests/golden/orders.json from the hand-written order generator (run once, before the model engine).

Values, not bytes of one representation: money as text with its scale's two places (the hand-written
generator kept Decimal('56.9'); the model engine keeps 56.90, the same amount), times in ISO form with
milliseconds. `python tests/golden/capture_orders.py` rewrites the file; the model engine must reproduce it.
"""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from pathlib import Path

from sandbox.measure.consistency import expected_totals
from sandbox.workload.generator import Workload, WorkloadSpec


def plain(value: object) -> object:
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if hasattr(value, "isoformat"):
        return value.isoformat(timespec="milliseconds")  # type: ignore[attr-defined]
    if hasattr(value, "value") and isinstance(value.value, str):  # StrEnum
        return str(value)
    return value


def order_values(o) -> dict:
    doc = {k: plain(getattr(o, k)) for k in o.__dataclass_fields__ if k != "items"}
    doc["items"] = [{k: plain(getattr(i, k)) for k in i.__dataclass_fields__} for i in o.items]
    return doc


def catalog_values(c) -> dict:
    return {
        "category": [{k: plain(getattr(x, k)) for k in x.__dataclass_fields__} for x in c.categories],
        "product": [{k: plain(getattr(x, k)) for k in x.__dataclass_fields__} for x in c.products],
        "customer": [{**{k: plain(getattr(x, k)) for k in x.__dataclass_fields__
                         if k not in ("billing_address", "shipping_address")},
                      "addresses": [{k: plain(getattr(a, k)) for k in a.__dataclass_fields__}
                                    for a in (x.billing_address, x.shipping_address)]} for x in c.customers],
    }


def digest(docs) -> str:
    text = "\n".join(json.dumps(d, sort_keys=True, separators=(",", ":")) for d in docs)
    return hashlib.sha256(text.encode()).hexdigest()


def main() -> None:
    out: dict = {"orders": {}, "streams": {}, "catalogs": {}, "totals": {}}
    for seed, index in ((1, 0), (7, 12345), (42, 999999), (5, 3)):
        small = {"customers": 37, "products": 11, "categories": 5} if seed == 5 else {}
        spec = WorkloadSpec(seed, index + 1, **small)
        out["orders"][f"{seed}:{index}"] = order_values(Workload(spec).order(index))
    for seed, n in ((11, 2000), (3, 1000)):
        out["streams"][f"{seed}:{n}"] = digest(order_values(o) for o in Workload(WorkloadSpec(seed, n)).orders())
    for seed, sizes in ((1, {}), (5, {"customers": 37, "products": 11, "categories": 5})):
        cat = catalog_values(Workload(WorkloadSpec(seed, 1, **sizes)).catalog)
        out["catalogs"][f"{seed}"] = {"sizes": sizes, **{k: digest(v) for k, v in cat.items()},
                                     "first": {k: v[0] for k, v in cat.items()},
                                     "last": {k: v[-1] for k, v in cat.items()}}
    for seed, n in ((17, 3000),):
        totals = expected_totals(o.record() for o in Workload(WorkloadSpec(seed, n)).orders())
        out["totals"][f"{seed}:{n}"] = {s: [t.count, f"{t.revenue:.2f}"] for s, t in sorted(totals.items())}
    Path(__file__).with_name("orders.json").write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
