"""Store -> bronze: the dbt project's sources, loaded by watermark, reconciled by a blocking check."""

from collections.abc import Iterator
from datetime import timedelta
from typing import Any, Final

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    Config,
    MaterializeResult,
    multi_asset,
)

from pipelines.assets.ingest.loader import SOURCE_TABLES, WATERMARKS_TABLE, load_table, reconcile
from pipelines.resources.store import PaymentsStore
from pipelines.resources.warehouse import WAREHOUSE_POOL, Warehouse

INGEST_GROUP: Final = "ingest"
BRONZE_SOURCE: Final = "bronze"
"""The dbt source name: dagster-dbt keys a source table as `[source, table]`."""
ROW_COUNT_CHECK: Final = "row_counts_reconcile"


def bronze_key(table: str) -> AssetKey:
    return AssetKey([BRONZE_SOURCE, table])


class IngestConfig(Config):
    overlap_seconds: float = 300.0
    chunk_rows: int = 50_000


@multi_asset(
    pool=WAREHOUSE_POOL,
    specs=[
        AssetSpec(
            bronze_key(source.bronze_table),
            group_name=INGEST_GROUP,
            description=f"Store table `{source.store_table}` copied by `{source.watermark_column}` watermark.",
            kinds={"duckdb"},
        )
        for source in SOURCE_TABLES
    ]
    + [
        AssetSpec(
            bronze_key(WATERMARKS_TABLE),
            group_name=INGEST_GROUP,
            description="Per store table: how far bronze has copied.",
            kinds={"duckdb"},
        )
    ],
    check_specs=[
        AssetCheckSpec(
            ROW_COUNT_CHECK,
            asset=bronze_key(source.bronze_table),
            blocking=True,
            description="Store rows up to the watermark = distinct bronze rows up to it.",
        )
        for source in SOURCE_TABLES
    ],
    name="bronze_tables",
)
def bronze_tables(
    context: AssetExecutionContext, config: IngestConfig, store: PaymentsStore, warehouse: Warehouse
) -> Iterator[MaterializeResult[Any] | AssetCheckResult]:
    warehouse.create_bronze()
    for source in SOURCE_TABLES:
        result = load_table(
            store, warehouse, source, overlap=timedelta(seconds=config.overlap_seconds), chunk=config.chunk_rows
        )
        context.log.info(
            f"{source.store_table}: read {result.rows_read}, inserted {result.rows_inserted}, watermark {result.watermark}"
        )
        yield MaterializeResult(
            asset_key=bronze_key(source.bronze_table),
            metadata={
                "rows_read": result.rows_read,
                "rows_inserted": result.rows_inserted,
                "watermark": str(result.watermark),
            },
        )
    yield MaterializeResult(asset_key=bronze_key(WATERMARKS_TABLE))
    for source in SOURCE_TABLES:
        counts = reconcile(store, warehouse, source)
        yield AssetCheckResult(
            asset_key=bronze_key(source.bronze_table),
            check_name=ROW_COUNT_CHECK,
            passed=counts.reconciles,
            severity=AssetCheckSeverity.ERROR,
            metadata={
                "store_rows": counts.store_rows,
                "bronze_rows": counts.bronze_rows,
                "watermark": str(counts.watermark),
            },
        )
