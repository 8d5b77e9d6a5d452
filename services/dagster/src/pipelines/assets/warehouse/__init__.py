"""The dbt warehouse as assets: every model, seed and snapshot, built by one streaming `dbt build`.

dbt's tests become asset checks. `dbt build` runs each model's tests before its children, and a
failed test fails the step, so nothing downstream (in dbt or in Dagster) runs on bad data.

`dbt build` writes into the project's target folder, where the code location's `dbt parse` left
the manifest and dbt's partial-parse state: dbt then re-parses only what changed since, instead of
the whole project in a fresh folder per run (dagster-dbt's default: a full parse, 38 s of a
100,000-payment build at load average ~12). Runs do not overlap (the in-process executor, one step at a
time), so the folder is never shared by two builds.
"""

from collections.abc import Iterator, Mapping
from typing import Any, Final

from dagster import AssetExecutionContext, AssetsDefinition
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, DbtProject, dbt_assets

WAREHOUSE_GROUP: Final = "warehouse"


class WarehouseTranslator(DagsterDbtTranslator):
    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        return WAREHOUSE_GROUP


def warehouse_assets(project: DbtProject) -> AssetsDefinition:
    translator = WarehouseTranslator(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))

    @dbt_assets(
        manifest=project.manifest_path, project=project, dagster_dbt_translator=translator, name="warehouse_dbt"
    )
    def warehouse_dbt(context: AssetExecutionContext, dbt: DbtCliResource) -> Iterator[Any]:
        yield from dbt.cli(["build"], context=context, target_path=project.target_path).stream()

    return warehouse_dbt
