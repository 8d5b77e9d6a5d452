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
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import duckdb
from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    MaterializeResult,
    PipesSubprocessClient,
    asset,
)

from contracts.schemas.no_history import FRAUD_STORED_FEATURES
from pipelines.resources.feature_repo import FeatureRepoCommands
from pipelines.resources.warehouse import WAREHOUSE_POOL, Warehouse

FEATURES_GROUP: Final = "features"
FEATURE_TABLES: Final = ("fraud_features", "churn_features")
FEAST_TRAINING_TABLE: Final = "ml.fraud_training_set_feast"
MATCHES_DBT_CHECK: Final = "matches_dbt_training_set"
TOLERANCE: Final = 1e-9
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


@asset(
    pool=WAREHOUSE_POOL, group_name=FEATURES_GROUP, deps=[AssetKey(table) for table in FEATURE_TABLES], kinds={"feast"}
)
def feast_export(
    context: AssetExecutionContext, pipes_subprocess_client: PipesSubprocessClient, feature_repo: FeatureRepoCommands
) -> MaterializeResult[Any]:
    """dbt's `fraud_features` and `churn_features` copied to the feature repo's parquet tables."""
    run = _run(context, pipes_subprocess_client, feature_repo, "export")
    return MaterializeResult(metadata={**run, **_parquet_rows(Path(feature_repo.root))})


@asset(pool=WAREHOUSE_POOL, group_name=FEATURES_GROUP, deps=[feast_export], kinds={"feast"})
def feast_apply(
    context: AssetExecutionContext, pipes_subprocess_client: PipesSubprocessClient, feature_repo: FeatureRepoCommands
) -> MaterializeResult[Any]:
    """The repo's entities, views and feature services registered (`feature_store.yaml` written)."""
    run = _run(context, pipes_subprocess_client, feature_repo, "apply")
    root = Path(feature_repo.root)
    return MaterializeResult(
        metadata={**run, "feature_store_yaml": str(root / "feature_store.yaml"), "registry": str(root / "registry.db")}
    )


@asset(pool=WAREHOUSE_POOL, group_name=FEATURES_GROUP, deps=[feast_apply], kinds={"feast"})
def feast_materialize(
    context: AssetExecutionContext, pipes_subprocess_client: PipesSubprocessClient, feature_repo: FeatureRepoCommands
) -> MaterializeResult[Any]:
    """The offline rows loaded into the online store (incrementally, up to now) for serving."""
    run = _run(context, pipes_subprocess_client, feature_repo, "materialize")
    return MaterializeResult(metadata={**run, **online_rows(Path(feature_repo.root))})


def _export_entities(warehouse: Warehouse, path: Path) -> int:
    """The training set's payments as Feast entity rows: join keys and the payment time (UTC)."""
    with warehouse.connect(read_only=True) as connection:
        connection.execute("set TimeZone = 'UTC'")
        connection.execute(
            f"""copy (
                select t.payment_id, f.customer_id, f.card_fingerprint, f.merchant_id,
                    cast(t.payment_time as timestamptz) as event_timestamp
                from ml.fraud_training_set t join fraud_features f using (payment_id)
            ) to '{path}' (format parquet)"""  # noqa: S608 (paths we built)
        )
        [(count,)] = connection.execute(f"select count(*) from '{path}'").fetchall()  # noqa: S608
    return int(count)


def feast_mismatches(connection: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Per stored feature: training rows whose Feast point-in-time value differs from dbt's (beyond
    1e-9, or NULL on one side only)."""
    differs = ", ".join(
        f"count(*) filter (where not (abs(feast.{name} - dbt.{name}) <= {TOLERANCE} "
        f"or (feast.{name} is null and dbt.{name} is null)))"
        for name in FRAUD_STORED_FEATURES
    )
    row = connection.execute(
        f"select count(*), {differs} from ml.fraud_training_set dbt "  # noqa: S608 (names from contracts)
        f"join {FEAST_TRAINING_TABLE} feast using (payment_id)"
    ).fetchone()
    assert row is not None
    return {
        "rows": int(row[0]),
        **{name: int(value) for name, value in zip(FRAUD_STORED_FEATURES, row[1:], strict=True)},
    }


@asset(
    pool=WAREHOUSE_POOL,
    group_name=FEATURES_GROUP,
    deps=[feast_materialize, AssetKey("fraud_training_set")],
    kinds={"feast", "duckdb"},
    check_specs=[
        AssetCheckSpec(
            MATCHES_DBT_CHECK,
            asset="feast_fraud_training_features",
            blocking=True,
            description="Feast's point-in-time features of every training row equal the dbt ones trained on.",
        )
    ],
)
def feast_fraud_training_features(
    context: AssetExecutionContext,
    pipes_subprocess_client: PipesSubprocessClient,
    feature_repo: FeatureRepoCommands,
    warehouse: Warehouse,
) -> Iterator[MaterializeResult[Any] | AssetCheckResult]:
    """The fraud training set's stored features through Feast's historical retrieval (`fraud_v1`,
    point in time at each payment), in `ml.fraud_training_set_feast`; the check proves they are
    the features the model is trained on, so training and serving read the same values."""
    folder = Path(feature_repo.root) / "training"
    folder.mkdir(parents=True, exist_ok=True)
    entities, out = folder / "fraud_entities.parquet", folder / "fraud_training_set.parquet"
    entity_rows = _export_entities(warehouse, entities)
    run = _run(
        context, pipes_subprocess_client, feature_repo, "training-set", str(entities), str(out), "--service", "fraud_v1"
    )
    with warehouse.connect() as connection:
        connection.execute(f"create or replace table {FEAST_TRAINING_TABLE} as select * from '{out}'")  # noqa: S608
        mismatches = feast_mismatches(connection)
    yield MaterializeResult(metadata={**run, "table": FEAST_TRAINING_TABLE, "entity_rows": entity_rows})
    yield AssetCheckResult(
        check_name=MATCHES_DBT_CHECK,
        passed=mismatches["rows"] == entity_rows and not any(v for k, v in mismatches.items() if k != "rows"),
        severity=AssetCheckSeverity.ERROR,
        metadata={f"mismatches.{k}" if k != "rows" else "joined_rows": v for k, v in mismatches.items()},
    )
