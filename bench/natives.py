"""Inputs for the native tools, built from the same instances the sandbox writes (files in a temp dir).

Each store's rendering of an instance (rows, commands, documents, points) comes from its model store's own
design (the statement and COPY rows, the write script and its arguments, the documents, the line protocol), so
the native tool loads exactly what the model store would write.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sandbox.workload.dataset import Instance


async def staging(store: Any) -> tuple[str, str, int]:
    """The model store's one-statement write as pgbench input: (DDL of a staging table with one column per
    statement parameter, typed as the server prepared them; the statement reading them from it; parameters)."""
    sql: str = store._insert
    async with store.pool.acquire() as conn:
        params = (await conn.prepare(sql)).get_parameters()
        types = [await conn.fetchval("SELECT format_type($1::oid, NULL)", p.oid) for p in params]
    columns = ", ".join(f"a{n} {t}" for n, t in enumerate(types, start=1))
    ddl = f'CREATE TABLE "{store.namespace}".bench_input (i int PRIMARY KEY, {columns})'
    # $n -> the staged row's column (highest first: $12 before $1)
    for n in range(len(params), 0, -1):
        sql = re.sub(rf"\${n}(?!\d)", f"(SELECT a{n} FROM src)", sql)
    src = f'src AS (SELECT * FROM "{store.namespace}".bench_input WHERE i = :i)'
    statement = f"WITH {src}, {sql[5:]}" if sql.startswith("WITH ") else f"WITH {src} {sql}"
    return ddl, statement, len(params)


def pgbench_script(statement: str, clients: int) -> str:
    """The model store's root + children statement, fed instance by instance from the staging table: client c
    takes instances c, c + clients, ... (pgbench keeps \\set variables per client across transactions; start n
    at 0 with -D n=0). The only extra work on this side is one primary-key lookup of the staged row."""
    return f"\\set n :n + 1\n\\set i :client_id + {clients} * (:n - 1)\n{' '.join(statement.split())};\n"


def postgres_copy(dir_: Path, store: Any, instances: Sequence[Instance], batch: int) -> Path:
    """CSV files per batch and table (the model store's COPY rows) and a psql script that loads each batch in its
    own transaction, as write_batch does (COPY of the root's table, then its children's, COMMIT per batch)."""
    lines = []
    for n in range(0, len(instances), batch):
        lines.append("BEGIN;")
        for table, columns, t in store._copy_tables:
            path = dir_ / f"{table}-{n}.csv"
            with path.open("w", newline="") as f:
                csv.writer(f).writerows(store.rows.copy_rows(instances[n:n + batch], t))
            cols = ", ".join(f'"{c}"' for c in columns)
            lines.append(f"\\copy \"{store.namespace}\".\"{table}\" ({cols}) FROM '{path}' CSV")
        lines.append("COMMIT;")
    script = dir_ / "load.sql"
    script.write_text("\n".join(lines) + "\n")
    return script


def redis_protocol(path: Path, store: Any, instances: Sequence[Instance], batch: int) -> Path:
    """What the Redis model store's write_batch sends, in RESP for `redis-cli --pipe`: the write script loaded
    once, then per batch MULTI, one EVALSHA per instance (its hash key; the prefix and the codec's arguments),
    EXEC."""
    root = store.model.root
    script, codec, key = store.writes[root], store.codecs[root], store.design.layouts[root].key
    commands: list[list[Any]] = [["SCRIPT", "LOAD", script.text]]
    for n in range(0, len(instances), batch):
        commands.append(["MULTI"])
        for inst in instances[n:n + batch]:
            commands.append(["EVALSHA", script.sha, 1, store.hash_key(root, inst[key]), store.namespace,
                             *codec.args(inst)])
        commands.append(["EXEC"])
    with path.open("wb") as f:
        for cmd in commands:
            parts = [str(a).encode() for a in cmd]
            f.write(b"*%d\r\n" % len(parts) + b"".join(b"$%d\r\n%s\r\n" % (len(p), p) for p in parts))
    return path


def elastic_bulk(dir_: Path, store: Any, instances: Sequence[Instance], chunk: int) -> list[Path]:
    """The model store's documents as _bulk bodies (create, as its write_batch sends them), `chunk` per file."""
    root = store.model.root
    index, codec, key = store.design.index(root), store.codecs[root], store.model.root_entity.key
    files = []
    for n in range(0, len(instances), chunk):
        path = dir_ / f"bulk-{n}.ndjson"
        with path.open("w") as f:
            for inst in instances[n:n + chunk]:
                f.write(json.dumps({"create": {"_index": index, "_id": str(inst[key])}}) + "\n"
                        + json.dumps(codec.encode(inst)) + "\n")
        files.append(path)
    return files


def influx_lines(dir_: Path, store: Any, instances: Sequence[Instance], chunk: int) -> list[Path]:
    """The model store's line protocol, `chunk` points per file."""
    files = []
    for n in range(0, len(instances), chunk):
        path = dir_ / f"lines-{n}.txt"
        path.write_text("\n".join(store._line(i) for i in instances[n:n + chunk]))
        files.append(path)
    return files
