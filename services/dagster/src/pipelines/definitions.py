"""The one module that assembles `Definitions`: `dagster dev -m pipelines.definitions`.

`PIPELINES_DEPLOYMENT` picks the resource set (`local`: the store by DSN, the warehouse file, the
registry folder from `PIPELINES_*`; `test`: the same parts, with PR-curve PNGs kept beside the
warehouse). Settings are read once here; a missing one stops the load with its name.
"""

from pathlib import Path
from typing import Any

from dagster import Definitions, PipesSubprocessClient, definitions, in_process_executor, load_assets_from_modules
from dagster_dbt import DbtCliResource, DbtProject

from pipelines.assets import features, ingest, training
from pipelines.assets.warehouse import warehouse_assets
from pipelines.jobs import daily_job, daily_schedule, ingest_job, train_models_job, warehouse_job
from pipelines.project import dbt_launcher, warehouse_project
from pipelines.resources import RegistryResource, SqlPaymentsStore, TrainingPolicy, Warehouse
from pipelines.resources.feature_repo import FeatureRepoCommands
from pipelines.sensors import store_new_rows_sensor
from pipelines.settings import PipelinesSettings, load_pipelines_settings


def build_resources(settings: PipelinesSettings, project: DbtProject, launcher: Path) -> dict[str, Any]:
    reports = settings.warehouse_path.parent / "reports" if settings.deployment == "test" else ""
    feast: dict[str, Any] = {}
    if settings.feature_repo_command is not None and settings.feature_repo_root is not None:
        feast = {
            "feature_repo": FeatureRepoCommands(
                command=settings.feature_repo_command,
                root=str(settings.feature_repo_root),
                warehouse_path=str(settings.warehouse_path),
            ),
            "pipes_subprocess_client": PipesSubprocessClient(),
        }
    return {
        **feast,
        "store": SqlPaymentsStore(dsn=settings.store_dsn),
        "warehouse": Warehouse(path=str(settings.warehouse_path)),
        "registry": RegistryResource(root=str(settings.registry_root)),
        "policy": TrainingPolicy(
            label_maturity_days=settings.label_maturity_days,
            churn_horizon_days=settings.churn_horizon_days,
            seed=settings.seed,
            threads=settings.training_threads or 0,
            reports_dir=str(reports),
        ),
        "dbt": DbtCliResource(project_dir=project, dbt_executable=str(launcher)),
    }


def build_definitions(settings: PipelinesSettings) -> Definitions:
    # Beside the warehouse: the launcher names that file, and the dbt target may be shared.
    launcher = dbt_launcher(
        settings.warehouse_path.parent / f"{settings.warehouse_path.stem}-dbt.sh", settings.warehouse_path
    )
    project = warehouse_project(settings.dbt_project_dir, settings.dbt_target_dir, launcher, settings.warehouse_path)
    return Definitions(
        # The Feast assets only when the feature repo is configured (PIPELINES_FEATURE_REPO_*).
        assets=[
            *load_assets_from_modules([ingest, training, *([features] if settings.feast_enabled else [])]),
            warehouse_assets(project),
        ],
        jobs=[ingest_job, warehouse_job, train_models_job, daily_job],
        schedules=[daily_schedule],
        sensors=[store_new_rows_sensor],
        resources=build_resources(settings, project, launcher),
        # One step at a time: DuckDB lets one process write the warehouse (or several read it), and
        # the Feast steps (export reads, the training-set retrieval writes) would otherwise run
        # beside the training steps in other processes.
        executor=in_process_executor,
    )


@definitions
def defs() -> Definitions:
    """What `dagster dev -m pipelines.definitions` loads: built from the environment when loaded,
    so importing this module (tests do) reads no settings."""
    return build_definitions(load_pipelines_settings())
