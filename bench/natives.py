"""Inputs for the native tools, built from the same orders the sandbox writes (files in a temp dir).

Each store's rendering of an order (rows, commands, documents, points) comes from its adapter's public
methods, so the native tool loads exactly what the adapter would write.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sandbox.stores.redis.scripts import WRITE_ORDER
from sandbox.workload.model import Order

# The parameters of PostgresStore.write's one statement, as columns of a staging table that pgbench reads.
STAGING_COLUMNS = (
    ("id", "uuid"), ("order_number", "text"), ("customer_id", "uuid"), ("billing_address_id", "uuid"),
    ("shipping_address_id", "uuid"), ("status", "{s}.order_status"), ("subtotal", "numeric"), ("tax_amount", "numeric"),
    ("shipping_amount", "numeric"), ("total_amount", "numeric"), ("created_at", "timestamptz"),
    ("product_ids", "uuid[]"), ("quantities", "int[]"), ("unit_prices", "numeric[]"), ("totals", "numeric[]"),
    ("names", "text[]"), ("skus", "text[]"))


def staging_ddl(schema: str) -> str:
    quoted = f'"{schema}"'
    columns = ", ".join(f"{name} {type_.format(s=quoted)}" for name, type_ in STAGING_COLUMNS)
    return f'CREATE TABLE "{schema}".bench_input (i int PRIMARY KEY, {columns})'


def pgbench_script(schema: str, clients: int) -> str:
    """The adapter's order + items statement, fed order by order from the staging table: client c takes
    orders c, c + clients, ... (pgbench keeps \\set variables per client across transactions; start n at 0
    with -D n=0). The only extra work on this side is one primary-key lookup of the staged row."""
    s = f'"{schema}"'
    return f"""\\set n :n + 1
\\set i :client_id + {clients} * (:n - 1)
WITH src AS (SELECT * FROM {s}.bench_input WHERE i = :i),
o AS (
  INSERT INTO {s}.orders (id, order_number, customer_id, billing_address_id, shipping_address_id, status,
                          subtotal, tax_amount, shipping_amount, total_amount, created_at)
  SELECT id, order_number, customer_id, billing_address_id, shipping_address_id, status,
         subtotal, tax_amount, shipping_amount, total_amount, created_at FROM src RETURNING id)
INSERT INTO {s}.order_items (order_id, product_id, quantity, unit_price, total_price, product_name, product_sku)
SELECT o.id, it.* FROM o, src, unnest(src.product_ids, src.quantities, src.unit_prices, src.totals, src.names,
                                      src.skus) AS it;
"""


def postgres_copy(dir_: Path, store: Any, orders: Sequence[Order], batch: int) -> Path:
    """CSV files per batch and table (PostgresStore.copy_rows) and a psql script that loads each batch in
    its own transaction, as write_batch does (COPY orders, COPY items, COMMIT per batch)."""
    lines = []
    for n in range(0, len(orders), batch):
        tables: dict[str, tuple[tuple[str, ...], list[tuple]]] = {}
        for o in orders[n:n + batch]:
            for table, (columns, rows) in store.copy_rows(o).items():
                tables.setdefault(table, (columns, []))[1].extend(rows)
        lines.append("BEGIN;")
        for table, (columns, rows) in tables.items():
            path = dir_ / f"{table}-{n}.csv"
            with path.open("w", newline="") as f:
                csv.writer(f).writerows(rows)
            lines.append(f"\\copy \"{store.namespace}\".{table} ({', '.join(columns)}) FROM '{path}' CSV")
        lines.append("COMMIT;")
    script = dir_ / "load.sql"
    script.write_text("\n".join(lines) + "\n")
    return script


def redis_protocol(path: Path, store: Any, orders: Sequence[Order], batch: int) -> Path:
    """What RedisStore.write_batch sends, in RESP for `redis-cli --pipe`: the order script loaded once, then
    per batch MULTI, one EVALSHA per order (RedisStore.script_call), EXEC."""
    sha = hashlib.sha1(WRITE_ORDER.encode()).hexdigest()
    commands: list[list[Any]] = [["SCRIPT", "LOAD", WRITE_ORDER]]
    for n in range(0, len(orders), batch):
        commands.append(["MULTI"])
        for o in orders[n:n + batch]:
            keys, args = store.script_call(o)
            commands.append(["EVALSHA", sha, len(keys), *keys, *args])
        commands.append(["EXEC"])
    with path.open("wb") as f:
        for cmd in commands:
            parts = [str(a).encode() for a in cmd]
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
