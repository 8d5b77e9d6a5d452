"""The DuckDB warehouse file: bronze tables (contracts DDL, section warehouse) and the dbt models."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final

import duckdb
from dagster import ConfigurableResource

from contracts.sql import ddl_statements

WAREHOUSE_POOL: Final = "warehouse"
"""The Dagster concurrency pool of every step that opens the warehouse (DuckDB: one writing process).

The instance limits it to one step at a time across runs (`concurrency: pools: default_limit: 1` in
infra/docker/dagster/dagster.yaml), so overlapping runs (the schedule, the sensor, a UI launch)
queue instead of failing on DuckDB's file lock."""


class Warehouse(ConfigurableResource):  # type: ignore[type-arg]
    path: str

    @contextmanager
    def connect(self, *, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """One connection, closed on exit (DuckDB allows one writing process: dbt opens the file next)."""
        connection = duckdb.connect(self.path, read_only=read_only)
        try:
            yield connection
        finally:
            connection.close()

    def create_bronze(self) -> None:
        """Create the bronze tables from the contracts DDL (idempotent: `create ... if not exists`)."""
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        with self.connect() as connection:
            for statement in ddl_statements("warehouse"):
                connection.execute(statement)
