"""The DDL executes on SQLite and DuckDB and matches the row models column for column."""

import sqlite3
import types
from datetime import datetime
from pathlib import Path
from typing import Any, Union, get_args, get_origin

import duckdb
import pytest
from pydantic import BaseModel

from contracts.schemas.records import BRONZE_EXTRA_COLUMNS, BRONZE_TABLES, STORE_ROWS, RowModel
from contracts.sql import ddl_statements

SQL_TYPES = {str: "TEXT", int: "BIGINT", float: "DOUBLE PRECISION", datetime: "TIMESTAMP"}
DUCKDB_TYPES = {"TEXT": "VARCHAR", "BIGINT": "BIGINT", "DOUBLE PRECISION": "DOUBLE", "TIMESTAMP": "TIMESTAMP"}

Column = tuple[str, str, bool]  # name, declared SQL type, nullable


def expected_columns(model: type[BaseModel], extra: tuple[str, ...] = ()) -> list[Column]:
    columns: list[Column] = []
    for name, field in model.model_fields.items():
        annotation: Any = field.annotation
        nullable = get_origin(annotation) in (Union, types.UnionType) and type(None) in get_args(annotation)
        base = next(a for a in get_args(annotation) if a is not type(None)) if nullable else annotation
        columns.append((name, SQL_TYPES[base], nullable))
    columns.extend((name, "TIMESTAMP", False) for name in extra)
    return columns


def sqlite_columns(conn: sqlite3.Connection, table: str) -> list[Column]:
    rows = conn.execute(f"PRAGMA table_info({table})").fetchall()
    return [(name, kind, not notnull and not pk) for _, name, kind, notnull, _, pk in rows]


def duckdb_columns(conn: duckdb.DuckDBPyConnection, table: str) -> list[tuple[str, str, bool]]:
    rows = conn.execute(
        "select column_name, data_type, is_nullable from information_schema.columns "
        "where table_name = ? order by ordinal_position",
        [table],
    ).fetchall()
    return [(name, kind, nullable == "YES") for name, kind, nullable in rows]


def all_tables() -> list[tuple[str, type[RowModel], tuple[str, ...]]]:
    tables: list[tuple[str, type[RowModel], tuple[str, ...]]] = [(model.table, model, ()) for model in STORE_ROWS]
    tables.extend((table, model, BRONZE_EXTRA_COLUMNS) for table, model in BRONZE_TABLES.items())
    return tables


def test_sections_split_store_from_warehouse() -> None:
    store = ddl_statements("store")
    warehouse = ddl_statements("warehouse")
    assert store and warehouse
    assert ddl_statements() == store + warehouse
    assert all("bronze_" not in statement for statement in store)
    assert all("bronze_" in statement for statement in warehouse)


def test_executes_on_sqlite_twice(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "store.db")
    for _ in range(2):  # IF NOT EXISTS: applying the DDL again is harmless
        for statement in ddl_statements():
            conn.execute(statement)
    for table, model, extra in all_tables():
        assert sqlite_columns(conn, table) == expected_columns(model, extra), table


def test_executes_on_duckdb_twice(tmp_path: Path) -> None:
    conn = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    for _ in range(2):
        for statement in ddl_statements():
            conn.execute(statement)
    for table, model, extra in all_tables():
        expected = [(n, DUCKDB_TYPES[t], nullable) for n, t, nullable in expected_columns(model, extra)]
        actual = duckdb_columns(conn, table)
        if table in {"payments", "payment_events", "decisions"}:  # primary keys are NOT NULL implicitly
            key = model.primary_key
            actual = [(n, t, nullable if n != key else True) for n, t, nullable in actual]
            expected = [(n, t, nullable if n != key else True) for n, t, nullable in expected]
        assert actual == expected, table


@pytest.mark.parametrize("model", STORE_ROWS, ids=lambda m: m.table)
def test_primary_key_is_a_required_column(model: type[RowModel]) -> None:
    key = model.primary_key
    assert key in model.model_fields and model.model_fields[key].is_required()
