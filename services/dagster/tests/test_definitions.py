"""The code location loads: every asset, job, schedule and sensor, and settings are checked."""

from pathlib import Path

import pytest
from conftest import Stack
from dagster import AssetKey, AssetsDefinition, ExecutorDefinition

from pipelines.settings import load_pipelines_settings
from service_config import ConfigurationError


def test_definitions_load_with_every_job_schedule_and_sensor(stack: Stack) -> None:
    defs = stack.defs
    repository = defs.get_repository_def()
    assert {job.name for job in repository.get_all_jobs()} >= {
        "ingest_job",
        "warehouse_job",
        "train_models_job",
        "daily_job",
    }
    assert defs.get_schedule_def("daily_schedule").cron_schedule == "0 4 * * *"
    assert defs.get_sensor_def("store_new_rows_sensor").job_name == "ingest_job"
    # One step at a time: DuckDB has one writing process (the Feast steps run beside training otherwise).
    assert isinstance(defs.executor, ExecutorDefinition) and defs.executor.name == "in_process"
    keys = repository.asset_graph.get_all_asset_keys()
    assert {
        AssetKey(["bronze", "bronze_payments"]),
        AssetKey("fct_payments"),
        AssetKey("fraud_features"),
        AssetKey("fraud_training_set"),
        AssetKey("fraud_model_champion"),
    } <= set(keys)
    # dbt's sources are the ingest assets: fct_payments depends (through staging) on bronze.
    upstream = repository.asset_graph.get(AssetKey("stg_payment_events")).parent_keys
    assert AssetKey(["bronze", "bronze_payment_events"]) in upstream


def test_missing_settings_stop_the_load_with_their_names(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("PIPELINES_STORE_DSN", "PIPELINES_WAREHOUSE_PATH", "PIPELINES_REGISTRY_ROOT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PIPELINES_LABEL_MATURITY_DAYS", "-1")

    with pytest.raises(ConfigurationError) as error:
        load_pipelines_settings()

    message = str(error.value)
    for name in (
        "PIPELINES_STORE_DSN",
        "PIPELINES_WAREHOUSE_PATH",
        "PIPELINES_REGISTRY_ROOT",
        "PIPELINES_LABEL_MATURITY_DAYS",
    ):
        assert name in message


def test_feature_repo_settings_go_together(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PIPELINES_STORE_DSN", f"sqlite:///{tmp_path / 'store.db'}")
    monkeypatch.setenv("PIPELINES_WAREHOUSE_PATH", str(tmp_path / "warehouse.duckdb"))
    monkeypatch.setenv("PIPELINES_REGISTRY_ROOT", str(tmp_path / "registry"))
    monkeypatch.setenv("PIPELINES_FEATURE_REPO_COMMAND", "python3.11 feature-repo.pex")
    monkeypatch.delenv("PIPELINES_FEATURE_REPO_ROOT", raising=False)

    with pytest.raises(ConfigurationError) as error:
        load_pipelines_settings()
    assert "PIPELINES_FEATURE_REPO_COMMAND" in str(error.value) and "PIPELINES_FEATURE_REPO_ROOT" in str(error.value)

    monkeypatch.setenv("PIPELINES_FEATURE_REPO_ROOT", str(tmp_path / "feature_repo"))
    assert load_pipelines_settings().feast_enabled


def test_a_training_thread_count_below_one_stops_the_load(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PIPELINES_STORE_DSN", f"sqlite:///{tmp_path / 'store.db'}")
    monkeypatch.setenv("PIPELINES_WAREHOUSE_PATH", str(tmp_path / "warehouse.duckdb"))
    monkeypatch.setenv("PIPELINES_REGISTRY_ROOT", str(tmp_path / "registry"))
    monkeypatch.delenv("PIPELINES_TRAINING_THREADS", raising=False)
    assert load_pipelines_settings().training_threads is None  # the default: deploy files need no value

    monkeypatch.setenv("PIPELINES_TRAINING_THREADS", "0")
    with pytest.raises(ConfigurationError) as error:
        load_pipelines_settings()
    assert "PIPELINES_TRAINING_THREADS" in str(error.value)

    monkeypatch.setenv("PIPELINES_TRAINING_THREADS", "3")
    assert load_pipelines_settings().training_threads == 3


def test_every_step_is_in_the_warehouse_pool(stack: Stack) -> None:
    """Overlapping runs (schedule, sensor, UI) queue on the pool the instance limits to one."""
    ops = {a.op.name: a.op.pool for a in stack.defs.assets or [] if isinstance(a, AssetsDefinition)}
    assert {"warehouse_dbt", "bronze_tables", "fraud_model_candidate"} <= set(ops)
    assert {name for name, pool in ops.items() if pool != "warehouse"} == set()


def test_instance_config_limits_the_warehouse_pool_to_one_run() -> None:
    config = Path("infra/docker/dagster/dagster.yaml").read_text(encoding="utf-8")
    assert "\nconcurrency:\n  pools:\n    default_limit: 1\n    granularity: run\n" in config
