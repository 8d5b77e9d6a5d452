"""PostgreSQL for tests: a throwaway cluster per pytest process (or the one in POSTGRES_DSN),
and a fresh database per test, dropped afterwards.

In a conftest: `from testing.postgres import postgres  # noqa: F401`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from local_stack.postgres_admin import run_sql, with_database
from testing.names import unique_name
from testing.stack import owned_stack_for

ENV_VAR = "POSTGRES_DSN"


@dataclass(frozen=True)
class PostgresServer:
    dsn: str  # a superuser's connection to a maintenance database
    owned: bool  # False when reused from POSTGRES_DSN


@dataclass(frozen=True)
class PostgresDatabase:
    """This test's own database."""

    dsn: str
    name: str


def postgres_server_for(config: pytest.Config) -> PostgresServer:
    external = os.environ.get(ENV_VAR)
    if external:
        return PostgresServer(external, owned=False)
    stack = owned_stack_for(config)
    stack.up(["postgres"])
    return PostgresServer(stack.service("postgres").address(), owned=True)


@pytest.fixture(scope="session")
def postgres_server(request: pytest.FixtureRequest) -> PostgresServer:
    """The PostgreSQL server for this pytest process: reused from the environment, else started."""
    return postgres_server_for(request.config)


@pytest.fixture()
def postgres(request: pytest.FixtureRequest) -> Iterator[PostgresDatabase]:
    """A new, empty database for this test; dropped (connections and all) afterwards."""
    server = postgres_server_for(request.config)
    name = unique_name(request.node.name, separator="_")
    run_sql(server.dsn, f'CREATE DATABASE "{name}"')
    yield PostgresDatabase(with_database(server.dsn, name), name)
    run_sql(server.dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
