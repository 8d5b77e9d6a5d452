"""The postgres fixtures: one cluster for the process, a fresh database per test."""

from __future__ import annotations

import psycopg
import pytest

from testing.postgres import PostgresDatabase, PostgresServer


@pytest.mark.parametrize("round_", [1, 2])
def test_each_test_starts_with_an_empty_database(postgres: PostgresDatabase, round_: int) -> None:
    with psycopg.connect(postgres.dsn, autocommit=True) as conn:
        count = conn.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'").fetchone()
        conn.execute("CREATE TABLE probe (n INT)")
        conn.execute("INSERT INTO probe VALUES (%s)", [round_])

    assert count == (0,)


def test_databases_of_earlier_tests_are_dropped(postgres_server: PostgresServer) -> None:
    with psycopg.connect(postgres_server.dsn) as conn:
        names = [row[0] for row in conn.execute("SELECT datname FROM pg_database").fetchall()]

    assert not [name for name in names if name.startswith("test_each_test_starts_with")]
