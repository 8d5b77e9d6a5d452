"""The dbt warehouse as assets: every model, seed and snapshot, built by one streaming `dbt build`.

dbt's tests become asset checks. `dbt build` runs each model's tests before its children, and a
failed test fails the step, so nothing downstream (in dbt or in Dagster) runs on bad data.

Each run builds in its own target folder (`<target>/runs/<run id>`, `project.run_target_path`):
runs can overlap (the daemon starts the schedule's, the sensor's and UI launches side by side, and
every run worker reads the parse folder's manifest), so no build may rewrite a shared folder. The
folder starts with the code location's partial-parse state, so dbt re-parses only what changed
instead of the whole project (dagster-dbt's default per-run folder starts empty: a full parse, 38 s
of a 100,000-payment build at load average ~12). The step is in the warehouse pool: one
warehouse step at a time across runs.
"""

from collections.abc import Iterator, Mapping
from typing import Any, Final

from dagster import AssetExecutionContext, AssetsDefinition
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, DbtProject, dbt_assets

from pipelines.project import run_target_path
from pipelines.resources.warehouse import WAREHOUSE_POOL

WAREHOUSE_GROUP: Final = "warehouse"


class WarehouseTranslator(DagsterDbtTranslator):
    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        return WAREHOUSE_GROUP


def warehouse_assets(project: DbtProject) -> AssetsDefinition:
    translator = WarehouseTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))

    @dbt_assets(
        manifest=project.manifest_path,
        project=project,
        dagster_dbt_translator=translator,
        name="warehouse_dbt",
        pool=WAREHOUSE_POOL,
    )
    def warehouse_dbt(context: AssetExecutionContext, dbt: DbtCliResource) -> Iterator[Any]:
        target = run_target_path(project, context.run.run_id)
        yield from dbt.cli(["build"], context=context, target_path=target).stream()

    return warehouse_dbt
