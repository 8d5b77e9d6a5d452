"""One simulated store and one built warehouse per pytest process (the test files share a batch)."""

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from dagster import AssetsDefinition, AssetSelection, Definitions, materialize

from pipelines.definitions import build_definitions
from pipelines.settings import PipelinesSettings
from pipelines.synthetic import StoreRows, SyntheticConfig, synthetic_rows, write_store

DBT_PROJECT = Path("dbt")
"""The dbt project, in the test sandbox as in the repository (a `dbt:project` dependency)."""
SMALL = SyntheticConfig(payments=3000, days=150, seed=7)


@dataclass(frozen=True)
class Stack:
    settings: PipelinesSettings
    defs: Definitions
    rows: StoreRows
    result: Any = None
    """The materialization that built this stack, when a fixture made one."""

    def resources(self) -> dict[str, Any]:
        return dict(self.defs.resources or {})

    def materialize(self, *groups: str, selection: AssetSelection | None = None, **kwargs: Any) -> Any:
        """The assets of `groups`, or of `selection`."""
        assets = [a for a in self.defs.assets or [] if isinstance(a, AssetsDefinition)]
        chosen = selection if selection is not None else AssetSelection.groups(*groups)
        return materialize(assets, selection=chosen, resources=self.resources(), **kwargs)


def model_chain(name: str) -> AssetSelection:
    """One model's training chain (the `training` group holds the fraud and the churn chain)."""
    return AssetSelection.assets(
        f"{name}_training_set", f"{name}_model_candidate", f"{name}_model_evaluation", f"{name}_model_champion"
    )


_DBT_TARGET: dict[str, Path] = {}
"""One dbt target folder per pytest process: the manifest is parsed once."""


def make_settings(root: Path, **overrides: Any) -> PipelinesSettings:
    if "target" not in _DBT_TARGET:
        _DBT_TARGET["target"] = Path(tempfile.mkdtemp(prefix="dbt-target-"))
    values: dict[str, Any] = {
        "deployment": "test",
        "store_dsn": f"sqlite:///{root / 'store.db'}",
        "warehouse_path": root / "warehouse.duckdb",
        "registry_root": root / "registry",
        "dbt_project_dir": DBT_PROJECT,
        "dbt_target_dir": _DBT_TARGET["target"],
    }
    return PipelinesSettings(**(values | overrides))


def make_stack(root: Path, rows: StoreRows, **overrides: Any) -> Stack:
    settings = make_settings(root, **overrides)
    write_store(settings.store_dsn, rows)
    return Stack(settings, build_definitions(settings), rows)


@pytest.fixture(scope="session")
def small_rows() -> StoreRows:
    return synthetic_rows(SMALL)


@pytest.fixture()
def stack(tmp_path: Path, small_rows: StoreRows) -> Stack:
    """A fresh store with the small dataset, an empty warehouse and an empty registry."""
    return make_stack(tmp_path, small_rows)


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory, small_rows: StoreRows) -> Stack:
    """Store -> bronze -> dbt, materialized once (real dbt); training tests copy the warehouse."""
    stack = make_stack(tmp_path_factory.mktemp("built"), small_rows)
    result = stack.materialize("ingest", "warehouse")
    assert result.success
    return Stack(stack.settings, stack.defs, stack.rows, result)


@pytest.fixture()
def trained_stack(tmp_path: Path, built: Stack) -> Stack:
    """The built warehouse copied, with an empty registry of its own."""
    shutil.copy(built.settings.warehouse_path, tmp_path / "warehouse.duckdb")
    settings = make_settings(tmp_path, store_dsn=built.settings.store_dsn)
    return Stack(settings, build_definitions(settings), built.rows)


def checks_of(result: object) -> dict[str, bool]:
    return {e.check_name: e.passed for e in result.get_asset_check_evaluations()}  # type: ignore[attr-defined]


def metadata_of(result: object, asset: str) -> dict[str, object]:
    event = next(
        e
        for e in result.get_asset_materialization_events()  # type: ignore[attr-defined]
        if e.asset_key.to_user_string() == asset
    )
    return {key: value.value for key, value in event.materialization.metadata.items()}
