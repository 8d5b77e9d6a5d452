"""One real warehouse per pytest process: the fixture dataset loaded into bronze, then `dbt build`."""

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from warehouse import bronze, fixture, run


@dataclass(frozen=True)
class Warehouse:
    path: Path
    work: Path
    data: fixture.Dataset

    def query(self, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
        return bronze.query(self.path, sql, params or [])

    def manifest(self) -> dict[str, Any]:
        document: dict[str, Any] = json.loads((self.work / "target" / "manifest.json").read_text())
        return document

    def run_results(self) -> dict[str, Any]:
        document: dict[str, Any] = json.loads((self.work / "target" / "run_results.json").read_text())
        return document


@pytest.fixture(scope="session")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Warehouse:
    work = tmp_path_factory.mktemp("warehouse")
    path = work / "warehouse.duckdb"
    bronze.create_bronze(path)
    data = fixture.fixture_dataset()
    for table in bronze.BRONZE_TABLES:
        bronze.load(path, table, fixture.rows(data, table))
    run.dbt(["build"], duckdb_path=path, work_dir=work)
    return Warehouse(path, work, data)
