"""Jobs select by group; the daily schedule runs the whole graph."""

from typing import Final

from dagster import AssetSelection, ScheduleDefinition, define_asset_job

from pipelines.assets.ingest import INGEST_GROUP
from pipelines.assets.training import TRAINING_GROUP
from pipelines.assets.warehouse import WAREHOUSE_GROUP

ingest_job = define_asset_job("ingest_job", selection=AssetSelection.groups(INGEST_GROUP))
warehouse_job = define_asset_job("warehouse_job", selection=AssetSelection.groups(INGEST_GROUP, WAREHOUSE_GROUP))
train_models_job = define_asset_job("train_models_job", selection=AssetSelection.groups(TRAINING_GROUP))
daily_job = define_asset_job("daily_job", selection=AssetSelection.all())

DAILY_CRON: Final = "0 4 * * *"
daily_schedule = ScheduleDefinition(
    name="daily_schedule", job=daily_job, cron_schedule=DAILY_CRON, execution_timezone="UTC"
)
