"""The payments-store DDL from `contracts` runs on the throwaway PostgreSQL, and data survives a
restart of the cluster."""

from __future__ import annotations

import psycopg

from contracts.sql import ddl_statements
from local_stack import LocalStack
from testing.postgres import PostgresDatabase

STORE_TABLES = {"payments", "payment_events", "decisions"}


def _tables(conn: psycopg.Connection[tuple[object, ...]]) -> set[str]:
    rows = conn.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'").fetchall()
    return {str(row[0]) for row in rows}


def test_store_ddl_creates_the_store_tables(postgres: PostgresDatabase) -> None:
    with psycopg.connect(postgres.dsn, autocommit=True) as conn:
        for statement in ddl_statements("store"):
            conn.execute(statement)
        tables = _tables(conn)

    assert tables >= STORE_TABLES


def test_store_ddl_is_idempotent(postgres: PostgresDatabase) -> None:
    with psycopg.connect(postgres.dsn, autocommit=True) as conn:
        for _ in range(2):
            for statement in ddl_statements("store"):
                conn.execute(statement)
        assert _tables(conn) >= STORE_TABLES


def test_each_test_gets_an_empty_database(postgres: PostgresDatabase) -> None:
    with psycopg.connect(postgres.dsn) as conn:
        assert _tables(conn) == set()


def test_rows_survive_a_restart(owned_stack: LocalStack) -> None:
    owned_stack.up(["postgres"])
    dsn = owned_stack.service("postgres").address()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS restart_probe (id TEXT PRIMARY KEY)")
        conn.execute("INSERT INTO restart_probe VALUES ('kept') ON CONFLICT DO NOTHING")

    owned_stack.restart("postgres")

    with psycopg.connect(dsn) as conn:
        rows = conn.execute("SELECT id FROM restart_probe").fetchall()
    assert rows == [("kept",)]
