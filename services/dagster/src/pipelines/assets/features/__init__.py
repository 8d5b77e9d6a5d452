"""Feast in the graph: the feature repo's own commands as external processes, through Dagster Pipes.

dbt's feature tables -> `feast_export` (parquet offline tables) -> `feast_apply` (registry) ->
`feast_materialize` (online store). Each asset starts `<PIPELINES_FEATURE_REPO_COMMAND> <command>`
with `dagster.PipesSubprocessClient`: its stdout and stderr go to the step's compute logs, a
non-zero exit fails the step (and nothing downstream runs). The feature repo speaks the Pipes
protocol (`dagster-pipes` in its resolve): its log lines and the metadata it reports (row counts,
objects registered, the materialized window) arrive in Dagster; each asset adds what it reads
itself from what the command left behind (parquet row counts, the online store's entities).
"""

import sqlite3
import time
from pathlib import Path
from typing import Any, Final

import duckdb
from dagster import AssetExecutionContext, AssetKey, MaterializeResult, PipesSubprocessClient, asset

from pipelines.resources.feature_repo import FeatureRepoCommands

FEATURES_GROUP: Final = "features"
FEATURE_TABLES: Final = ("fraud_features", "churn_features")
"""The dbt models the feature repo serves (dagster-dbt keys a model by its name)."""


def _run(
    context: AssetExecutionContext, pipes: PipesSubprocessClient, repo: FeatureRepoCommands, *arguments: str
) -> dict[str, Any]:
    argv = repo.argv(*arguments)
    context.log.info(f"running {' '.join(argv)}")
    started = time.perf_counter()
    # Raises on a non-zero exit (the step fails).
    invocation = pipes.run(command=argv, context=context, env=dict(repo.env()))
    reported: dict[str, Any] = {}
    for result in invocation.get_results():
        if isinstance(result, MaterializeResult):
            reported.update(result.metadata or {})
    return {
        **reported,
        "command": " ".join(argv),
        "exit_code": 0,
        "seconds": round(time.perf_counter() - started, 3),
    }


def _parquet_rows(root: Path) -> dict[str, int]:
    rows = {}
    with duckdb.connect() as connection:
        for table in FEATURE_TABLES:
            path = root / "data" / f"{table}.parquet"
            [(count,)] = connection.execute(f"select count(*) from '{path}'").fetchall()  # noqa: S608
            rows[f"rows.{table}"] = int(count)
    return rows


def online_rows(root: Path) -> dict[str, int]:
    """Entities per feature view in the SQLite online store (a table per `<project>_<view>`); none
    when the repo serves from another online store (Redis)."""
    if not (root / "online.db").is_file():
        return {}
    with sqlite3.connect(root / "online.db") as connection:
        tables = [name for (name,) in connection.execute("select name from sqlite_master where type = 'table'")]
        return {
            f"online_entities.{name}": int(
                connection.execute(f'select count(distinct entity_key) from "{name}"').fetchone()[0]  # noqa: S608
            )
            for name in sorted(tables)
        }


@asset(group_name=FEATURES_GROUP, deps=[AssetKey(table) for table in FEATURE_TABLES], kinds={"feast"})
def feast_export(
    context: AssetExecutionContext, pipes_subprocess_client: PipesSubprocessClient, feature_repo: FeatureRepoCommands
) -> MaterializeResult[Any]:
    """dbt's `fraud_features` and `churn_features` copied to the feature repo's parquet tables."""
    run = _run(context, pipes_subprocess_client, feature_repo, "export")
    return MaterializeResult(metadata={**run, **_parquet_rows(Path(feature_repo.root))})


@asset(group_name=FEATURES_GROUP, deps=[feast_export], kinds={"feast"})
def feast_apply(
    context: AssetExecutionContext, pipes_subprocess_client: PipesSubprocessClient, feature_repo: FeatureRepoCommands
) -> MaterializeResult[Any]:
    """The repo's entities, views and feature services registered (`feature_store.yaml` written)."""
    run = _run(context, pipes_subprocess_client, feature_repo, "apply")
    root = Path(feature_repo.root)
    return MaterializeResult(
        metadata={**run, "feature_store_yaml": str(root / "feature_store.yaml"), "registry": str(root / "registry.db")}
    )


@asset(group_name=FEATURES_GROUP, deps=[feast_apply], kinds={"feast"})
def feast_materialize(
    context: AssetExecutionContext, pipes_subprocess_client: PipesSubprocessClient, feature_repo: FeatureRepoCommands
) -> MaterializeResult[Any]:
    """The offline rows loaded into the online store (incrementally, up to now) for serving."""
    run = _run(context, pipes_subprocess_client, feature_repo, "materialize")
    return MaterializeResult(metadata={**run, **online_rows(Path(feature_repo.root))})
