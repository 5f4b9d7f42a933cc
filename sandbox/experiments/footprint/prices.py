"""The price table a projection is charged at: the dated sample shipped beside this module (prices.toml) or the
user's own file (`-p prices=FILE`, same keys). Prices are read as Decimal (TOML floats parsed as Decimal, never
as binary floats), so the monthly cost is exact arithmetic on what the file says."""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from sandbox.errors import UsageError

SHIPPED = Path(__file__).with_name("prices.toml")
HELD_IN = ("disk", "memory")  # contract.FootprintReading.held_in
HOW = "see sandbox/experiments/footprint/prices.toml for the keys"


@dataclass(frozen=True)
class PriceTable:
    file: str
    date: str
    currency: str
    source: str
    gb_bytes: int
    tiers: dict[str, tuple[str, Decimal]]  # held_in -> (tier name, price per GB-month)

    def to_json(self) -> dict[str, Any]:
        return {"file": self.file, "date": self.date, "currency": self.currency, "source": self.source,
                "gb_bytes": self.gb_bytes,
                "per_gb_month": {k: {"tier": t, "price": str(p)} for k, (t, p) in self.tiers.items()}}


def _price(path: str, key: str, value: Any) -> Decimal:
    if isinstance(value, str):
        try:
            value = Decimal(value)
        except ArithmeticError:
            value = None
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)) or not value >= 0:
        raise UsageError(f"prices {path}: {key} must be a price of 0 or more per GB-month, e.g. 0.08, "
                         f"got {value!r} ({HOW})")
    return Decimal(value)


def load(path: str | None) -> PriceTable:
    """The table at `path` (None: the shipped sample); one line naming what is wrong when it is not one."""
    file = SHIPPED if path is None else Path(path).expanduser()
    shown = str(path or "shipped prices.toml")
    try:
        doc = tomllib.loads(file.read_text(encoding="utf-8"), parse_float=Decimal)
    except OSError as exc:
        raise UsageError(f"prices {shown}: cannot read it ({exc.strerror or exc}); give a TOML file's path, "
                         f"{HOW}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"prices {shown}: not TOML ({exc}); {HOW}") from None
    date = doc.get("date")
    if not isinstance(date, (dt.date, str)) or not str(date).strip():
        raise UsageError(f"prices {shown}: needs date = YYYY-MM-DD (when its prices were taken); {HOW}")
    currency, gb = doc.get("currency", "USD"), doc.get("gb_bytes", 1_000_000_000)
    if not isinstance(currency, str) or not currency.strip():
        raise UsageError(f"prices {shown}: currency must be a name such as \"USD\"; {HOW}")
    if isinstance(gb, bool) or not isinstance(gb, int) or gb not in (1_000_000_000, 1 << 30):
        raise UsageError(f"prices {shown}: gb_bytes must be 1000000000 (GB) or 1073741824 (GiB), got {gb!r}")
    tiers = doc.get("tiers")
    if not isinstance(tiers, dict) or set(tiers) != set(HELD_IN):
        raise UsageError(f"prices {shown}: [tiers] must give disk = \"storage.<tier>\" and memory = "
                         f"\"memory.<tier>\" (the price each kind of held data is charged at); {HOW}")
    chosen: dict[str, tuple[str, Decimal]] = {}
    for held_in, ref in tiers.items():
        table, _, tier = str(ref).partition(".")
        prices = doc.get(table)
        if not isinstance(prices, dict) or tier not in prices:
            have = ", ".join(f"{t}.{k}" for t in ("storage", "memory") for k in (doc.get(t) or {})) or "none"
            raise UsageError(f"prices {shown}: tiers.{held_in} = {ref!r} names no price (prices given: {have})")
        chosen[held_in] = (f"{table}.{tier}", _price(shown, f"{table}.{tier}", prices[tier]))
    return PriceTable(shown, str(date), currency, str(doc.get("source", "")), gb, chosen)
