"""Sensors: run ingest when the payments store has rows bronze has not seen."""

import json
from typing import Final

from dagster import RunRequest, SensorEvaluationContext, SkipReason, sensor

from pipelines.assets.ingest.loader import SOURCE_TABLES
from pipelines.jobs import ingest_job
from pipelines.resources.store import PaymentsStore

STORE_SENSOR_INTERVAL_SECONDS: Final = 60


@sensor(job=ingest_job, minimum_interval_seconds=STORE_SENSOR_INTERVAL_SECONDS)
def store_new_rows_sensor(context: SensorEvaluationContext, store: PaymentsStore) -> RunRequest | SkipReason:
    """The cursor is the store's signature (row count and newest watermark per table): when it
    moves, one ingest run is requested, keyed by the signature (so it is requested once)."""
    signature = json.dumps(
        store.signature([(source.store_table, source.watermark_column) for source in SOURCE_TABLES]), sort_keys=True
    )
    if signature == context.cursor:
        return SkipReason("no new rows in the payments store")
    context.update_cursor(signature)
    return RunRequest(run_key=signature)
