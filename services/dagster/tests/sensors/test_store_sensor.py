"""The store sensor on a real DagsterInstance: a run when rows arrive, none otherwise."""

from datetime import UTC, timedelta

from conftest import Stack
from dagster import DagsterInstance, RunRequest, SkipReason, build_sensor_context

from pipelines.resources import SqlPaymentsStore
from pipelines.sensors import store_new_rows_sensor
from pipelines.synthetic import SyntheticConfig, synthetic_rows, write_store


def test_sensor_requests_ingest_only_when_the_store_has_new_rows(stack: Stack) -> None:
    store = SqlPaymentsStore(dsn=stack.settings.store_dsn)
    with DagsterInstance.ephemeral() as instance:
        first = store_new_rows_sensor(build_sensor_context(instance=instance, resources={"store": store}))
        assert isinstance(first, RunRequest)
        cursor = first.run_key

        quiet = store_new_rows_sensor(
            build_sensor_context(instance=instance, cursor=cursor, resources={"store": store})
        )
        assert isinstance(quiet, SkipReason)

        later = synthetic_rows(
            SyntheticConfig(
                payments=5,
                days=1,
                start=max(r.updated_at for r in stack.rows.payments).replace(tzinfo=UTC) + timedelta(days=1),
                seed=5,
            )
        )
        write_store(stack.settings.store_dsn, later)
        context = build_sensor_context(instance=instance, cursor=cursor, resources={"store": store})
        again = store_new_rows_sensor(context)
        assert isinstance(again, RunRequest) and again.run_key != cursor
        assert context.cursor == again.run_key

        # The requested run really ingests, on this instance.
        job = stack.defs.resolve_job_def("ingest_job")
        run = job.execute_in_process(instance=instance, tags={"dagster/run_key": str(again.run_key)})
        assert run.success
        assert instance.get_runs_count() == 1
