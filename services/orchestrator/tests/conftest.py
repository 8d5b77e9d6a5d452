"""The payments store on both databases it supports: a SQLite file and a real PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrator.store import PaymentsStore
from testing.postgres import PostgresDatabase, postgres  # noqa: F401  (re-exported fixture)


def _sqlalchemy_dsn(libpq_dsn: str) -> str:
    return libpq_dsn.replace("postgresql://", "postgresql+psycopg://", 1)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_dsn(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/payments.db"
    database: PostgresDatabase = request.getfixturevalue("postgres")
    return _sqlalchemy_dsn(database.dsn)


@pytest.fixture()
def store(store_dsn: str) -> Iterator[PaymentsStore]:
    payments = PaymentsStore.from_dsn(store_dsn)
    payments.create_schema()
    yield payments
    payments.close()
