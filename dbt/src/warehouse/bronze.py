"""Create the bronze tables from the contracts DDL in a DuckDB file and load rows into them.

The warehouse loader of the platform copies the payments store here; tests and benchmarks load
generated rows the same way. Columns come from the DDL itself, so a row is a mapping by name.
"""

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import duckdb

from contracts.sql import ddl_statements

BRONZE_TABLES = ("bronze_payments", "bronze_payment_events", "bronze_decisions", "bronze_load_watermarks")


def create_bronze(path: Path) -> None:
    """Run the warehouse section of the contracts DDL on the DuckDB file at `path`."""
    with duckdb.connect(str(path)) as connection:
        for statement in ddl_statements("warehouse"):
            connection.execute(statement)


def columns(connection: duckdb.DuckDBPyConnection, table: str) -> list[tuple[str, str]]:
    """(name, DuckDB type) of each column of `table`, in order."""
    rows = connection.execute(
        "select column_name, data_type from information_schema.columns where table_name = ? order by ordinal_position",
        [table],
    ).fetchall()
    return [(str(name), str(kind)) for name, kind in rows]


def load(path: Path, table: str, rows: Iterable[Mapping[str, Any]], batch: int = 50_000) -> int:
    """Append `rows` (dicts by column name; absent columns are NULL) to `table`; return the count."""
    if table not in BRONZE_TABLES:
        raise ValueError(f"{table!r} is not a bronze table")
    loaded = 0
    with duckdb.connect(str(path)) as connection:
        names = [name for name, _ in columns(connection, table)]
        sql = f"insert into {table} ({', '.join(names)}) values ({', '.join('?' for _ in names)})"  # noqa: S608 (table checked against BRONZE_TABLES, names from the DDL)
        chunk: list[Sequence[Any]] = []
        for row in rows:
            unknown = set(row) - set(names)
            if unknown:
                raise ValueError(f"{table} has no column(s) {sorted(unknown)}")
            chunk.append([row.get(name) for name in names])
            if len(chunk) >= batch:
                connection.executemany(sql, chunk)
                loaded += len(chunk)
                chunk = []
        if chunk:
            connection.executemany(sql, chunk)
            loaded += len(chunk)
    return loaded


def query(path: Path, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
    """Rows of a read-only query on the warehouse file, as dicts by column name."""
    with duckdb.connect(str(path), read_only=True) as connection:
        cursor = connection.execute(sql, list(params))
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
