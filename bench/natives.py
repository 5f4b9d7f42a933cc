"""Inputs for the native tools, built from the same orders the sandbox writes (files in a temp dir).

Each store's rendering of an order (rows, commands, documents, points) comes from its adapter's public
methods, so the native tool loads exactly what the adapter would write.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from sandbox.workload.model import Catalog, Order


def pgbench_script(schema: str, catalog: Catalog) -> str:
    """The adapter's INSERT_ORDER statement (order + items in one statement) with literal values."""
    c = catalog.customers[0]
    products = catalog.products[:3]
    qty = (1, 2, 3)
    subtotal = sum(p.base_price * q for p, q in zip(products, qty, strict=True))
    tax = (subtotal * Decimal("0.0825")).quantize(Decimal("0.01"))
    shipping = Decimal("0.00") if subtotal >= 100 else Decimal("7.99")
    total = subtotal + tax + shipping

    def arr(values: Sequence[Any], cast: str) -> str:
        return "ARRAY[" + ",".join(f"'{v}'" for v in values) + f"]::{cast}[]"

    return f"""WITH o AS (
  INSERT INTO "{schema}".orders (id, order_number, customer_id, billing_address_id, shipping_address_id, status,
                          subtotal, tax_amount, shipping_amount, total_amount, created_at)
  VALUES (gen_random_uuid(), gen_random_uuid()::text, '{c.id}', '{c.billing_address.id}', '{c.shipping_address.id}',
          'pending', {subtotal}, {tax}, {shipping}, {total}, now()) RETURNING id)
INSERT INTO "{schema}".order_items (order_id, product_id, quantity, unit_price, total_price, product_name, product_sku)
SELECT o.id, i.* FROM o, unnest({arr([p.id for p in products], 'uuid')}, {arr(qty, 'int')},
  {arr([p.base_price for p in products], 'numeric')}, {arr([p.base_price * q for p, q in zip(products, qty,
  strict=True)], 'numeric')}, {arr([p.name for p in products], 'text')}, {arr([p.sku for p in products], 'text')})
  AS i;
"""


def postgres_copy(dir_: Path, store: Any, orders: Sequence[Order]) -> Path:
    """A CSV file per table (PostgresStore.copy_rows) plus a psql script that \\copy-loads them in one
    transaction."""
    tables: dict[str, tuple[tuple[str, ...], list[tuple]]] = {}
    for o in orders:
        for table, (columns, rows) in store.copy_rows(o).items():
            tables.setdefault(table, (columns, []))[1].extend(rows)
    lines = ["BEGIN;"]
    for table, (columns, rows) in tables.items():
        path = dir_ / f"{table}.csv"
        with path.open("w", newline="") as f:
            csv.writer(f).writerows(rows)
        lines.append(f"\\copy \"{store.namespace}\".{table} ({', '.join(columns)}) FROM '{path}' CSV")
    script = dir_ / "load.sql"
    script.write_text("\n".join([*lines, "COMMIT;"]) + "\n")
    return script


class _Recorder:
    """Looks like a redis-py pipeline to RedisStore.queue_order and keeps the commands it is given."""

    def __init__(self) -> None:
        self.commands: list[list[str]] = []

    def hset(self, key: str, mapping: dict[str, Any]) -> None:
        self.commands.append(["HSET", key, *(str(x) for kv in mapping.items() for x in kv)])

    def zadd(self, key: str, mapping: dict[str, Any]) -> None:
        self.commands.append(["ZADD", key, *(str(x) for m, s in mapping.items() for x in (s, m))])

    def sadd(self, key: str, *members: str) -> None:
        self.commands.append(["SADD", key, *members])

    def hincrby(self, key: str, field: str, amount: int) -> None:
        self.commands.append(["HINCRBY", key, field, str(amount)])

    def expire(self, key: str, seconds: int) -> None:
        self.commands.append(["EXPIRE", key, str(seconds)])


def redis_protocol(path: Path, store: Any, orders: Sequence[Order]) -> Path:
    """The adapter's own commands for these orders, in RESP, for `redis-cli --pipe`."""
    rec = _Recorder()
    for o in orders:
        store.queue_order(rec, o)
    with path.open("wb") as f:
        for cmd in rec.commands:
            parts = [a.encode() for a in cmd]
            f.write(b"*%d\r\n" % len(parts) + b"".join(b"$%d\r\n%s\r\n" % (len(p), p) for p in parts))
    return path


def elastic_bulk(dir_: Path, store: Any, orders: Sequence[Order], chunk: int) -> list[Path]:
    """ElasticStore.document: the _bulk body, `chunk` orders per file."""
    index: str = store.index
    files = []
    for n in range(0, len(orders), chunk):
        path = dir_ / f"bulk-{n}.ndjson"
        with path.open("w") as f:
            for o in orders[n:n + chunk]:
                f.write(json.dumps({"index": {"_index": index, "_id": o.id}}) + "\n"
                        + json.dumps(store.document(o)) + "\n")
        files.append(path)
    return files


def influx_lines(dir_: Path, store: Any, orders: Sequence[Order], chunk: int) -> list[Path]:
    """InfluxStore.line: line protocol, `chunk` points per file."""
    files = []
    for n in range(0, len(orders), chunk):
        path = dir_ / f"lines-{n}.txt"
        path.write_text("\n".join(store.line(o) for o in orders[n:n + chunk]))
        files.append(path)
    return files
