"""The projection: the run's fit (fixed + bytes per root) carried to the user's scale, and charged at a price
table (prices.py) as a monthly cost per store, in Decimal.

`-p project="entities=100M,growth=5M/month,retention=36 months"`: entities held now; growth, roots added per
month (or per year); retention, how long they are kept, which is the horizon the projection runs to. What is
held at the horizon is entities + growth x retention: an entity written inside the window is still kept at its
end, and the entities held now are counted as kept throughout (their ages are not given)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from sandbox.errors import UsageError
from sandbox.experiments.footprint.prices import PriceTable

EXAMPLE = 'e.g. -p project="entities=100M,growth=5M/month,retention=36 months"'
SCALE = {"": 1, "k": 10**3, "m": 10**6, "b": 10**9, "g": 10**9}
COUNT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmbg]?)\s*$", re.I)
PER = {"month": 1, "months": 1, "mo": 1, "year": 12, "years": 12, "yr": 12, "y": 12}
MONTHS = re.compile(r"^\s*(\d+)\s*(months?|mo|years?|yr|y)?\s*$", re.I)
MAX_ENTITIES = 10**15
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Projection:
    text: str
    entities: int
    growth_per_month: int = 0
    retention_months: int = 0

    @property
    def horizon_entities(self) -> int:
        return self.entities + self.growth_per_month * self.retention_months


def _count(key: str, text: str) -> int:
    m = COUNT.match(text)
    if m is None:
        raise UsageError(f"project: {key}={text!r} is not a count: write a whole number with an optional k, M or "
                         f"B (100M = 100,000,000); {EXAMPLE}")
    try:
        value = Decimal(m.group(1)) * SCALE[m.group(2).lower()]
    except InvalidOperation:
        value = Decimal(-1)
    if value != value.to_integral_value() or not 0 <= value <= MAX_ENTITIES:
        raise UsageError(f"project: {key}={text!r} must come to a whole number of roots from 0 to 10^15; {EXAMPLE}")
    return int(value)


def parse(text: Any) -> Projection:
    """The `project` parameter read; one line naming the part that is wrong and how to write it."""
    if not isinstance(text, str) or not text.strip():
        raise UsageError(f"project must be text such as \"entities=100M\", got {text!r}; {EXAMPLE}")
    given: dict[str, str] = {}
    for part in text.split(","):
        key, sep, value = part.partition("=")
        key = key.strip().lower()
        if not sep or key not in ("entities", "growth", "retention"):
            raise UsageError(f"project: {part.strip()!r} is not entities=, growth= or retention=; {EXAMPLE}")
        if key in given:
            raise UsageError(f"project: {key} is given twice; {EXAMPLE}")
        given[key] = value.strip()
    if "entities" not in given:
        raise UsageError(f"project: entities= is missing (the roots held now); {EXAMPLE}")
    entities = _count("entities", given["entities"])
    if entities < 1:
        raise UsageError(f"project: entities must be at least 1, got {given['entities']!r}; {EXAMPLE}")
    growth = 0
    if "growth" in given:
        amount, slash, per = given["growth"].partition("/")
        unit = PER.get(per.strip().lower()) if slash else None
        if unit is None:
            raise UsageError(f"project: growth={given['growth']!r} needs a period: write growth=5M/month or "
                             f"growth=60M/year; {EXAMPLE}")
        per_period = _count("growth", amount)
        if per_period % unit:
            raise UsageError(f"project: growth={given['growth']!r} is not a whole number of roots per month")
        growth = per_period // unit
    months = 0
    if "retention" in given:
        m = MONTHS.match(given["retention"])
        if m is None:
            raise UsageError(f"project: retention={given['retention']!r} is not a duration: write 36 months or "
                             f"3 years; {EXAMPLE}")
        months = int(m.group(1)) * PER[(m.group(2) or "months").lower()]
        if not 1 <= months <= 1200:
            raise UsageError(f"project: retention must be 1 to 1200 months, got {given['retention']!r}")
    if growth and not months:
        raise UsageError(f"project: growth needs retention= (how long the growth runs before the horizon); "
                         f"{EXAMPLE}")
    return Projection(text.strip(), entities, growth, months)


def _cost(nbytes: float, prices: PriceTable, held_in: str) -> str:
    _, price = prices.tiers[held_in]
    return str((Decimal(round(nbytes)) / prices.gb_bytes * price).quantize(CENT, ROUND_HALF_UP))


def project(p: Projection, prices: PriceTable, stores: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """summary.json `footprint.projection`: per store (from its `footprint.stores` entry) the bytes held now and
    at the horizon, where they are held, and the monthly cost of each at the table's price (text Decimal)."""
    out: dict[str, Any] = {}
    left: dict[str, str] = {}
    for name, s in stores.items():
        fit = s.get("fit")
        if not fit:
            left[name] = "no fit: fewer than two sizes gave a held-bytes figure"
            continue
        held_in = s.get("held_in") or "disk"
        now = fit["fixed_bytes"] + fit["per_entity_bytes"] * p.entities
        then = fit["fixed_bytes"] + fit["per_entity_bytes"] * p.horizon_entities
        log = s.get("log_bytes_per_write")
        out[name] = {"held_in": held_in, "tier": prices.tiers[held_in][0], "server": s.get("server"),
                     "bytes_now": round(now), "bytes_at_horizon": round(then),
                     "monthly_cost_now": _cost(now, prices, held_in),
                     "monthly_cost_at_horizon": _cost(then, prices, held_in),
                     "log_bytes_per_month": None if log is None else round(log * p.growth_per_month)}
    return {"input": p.text, "entities": p.entities, "growth_per_month": p.growth_per_month,
            "retention_months": p.retention_months, "horizon_entities": p.horizon_entities,
            "currency": prices.currency, "prices": prices.to_json(), "stores": out, "not_projected": left,
            "left_out": "replicas (each copy costs the same again), IOPS, compute, backups and the log's disk"}
