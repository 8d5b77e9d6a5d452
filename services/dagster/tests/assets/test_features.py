"""Feast in the graph: the real feature-repo pex run by the `features` assets through Dagster Pipes
on the built warehouse, then the online values read back through Feast's own feature server."""

import json
import shutil
import sys
import urllib.request
from pathlib import Path
from typing import Any

import duckdb
import pytest
from conftest import Stack, make_settings
from dagster import AssetKey, AssetsDefinition, AssetSelection, DagsterEventType, materialize

from contracts.schemas.features import CHURN_FEATURE_NAMES
from pipelines.definitions import build_definitions
from testing.processes import free_port, start_server

FEATURE_REPO_PEX = Path("services.feast/feature-repo.pex")
"""Built by Pants for this test (`runtime_package_dependencies`), at its dist path."""


def python311() -> str:
    return shutil.which("python3.11") or sys.executable


def test_feast_is_absent_without_its_settings(stack: Stack) -> None:
    keys = stack.defs.get_repository_def().asset_graph.get_all_asset_keys()
    assert AssetKey("feast_materialize") not in keys


def test_feast_assets_export_apply_and_materialize_online_values(tmp_path: Path, built: Stack) -> None:
    shutil.copy(built.settings.warehouse_path, tmp_path / "warehouse.duckdb")
    root = tmp_path / "feature_repo"
    settings = make_settings(
        tmp_path,
        store_dsn=built.settings.store_dsn,
        feature_repo_command=f"{python311()} {FEATURE_REPO_PEX.resolve()}",
        feature_repo_root=root,
    )
    stack = Stack(settings, build_definitions(settings), built.rows)
    keys = stack.defs.get_repository_def().asset_graph
    assert AssetKey("fraud_features") in keys.get(AssetKey("feast_export")).parent_keys

    assets = [a for a in stack.defs.assets or [] if isinstance(a, AssetsDefinition)]
    result = materialize(
        assets,
        selection=AssetSelection.assets("feast_export", "feast_apply", "feast_materialize"),
        resources=stack.resources(),
    )

    assert result.success
    meta = {
        e.materialization.asset_key.to_user_string(): {k: v.value for k, v in e.materialization.metadata.items()}
        for e in result.get_asset_materialization_events()
    }
    assert list(meta) == ["feast_export", "feast_apply", "feast_materialize"]
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as connection:
        fraud_rows, churn_rows, customers = connection.execute(
            "select (select count(*) from fraud_features), (select count(*) from churn_features), "
            "(select count(distinct customer_id) from churn_features)"
        ).fetchone()  # type: ignore[misc]
        # The newest churn row of two customers: what the online store must serve for them.
        latest = connection.execute(
            f"select customer_id, {', '.join(CHURN_FEATURE_NAMES)} from churn_features "  # noqa: S608
            "qualify row_number() over (partition by customer_id order by event_timestamp desc) = 1 "
            "order by customer_id limit 2"
        ).fetchall()
    assert meta["feast_export"]["rows.fraud_features"] == fraud_rows > 0
    assert meta["feast_export"]["rows.churn_features"] == churn_rows > 0
    assert meta["feast_materialize"]["online_entities.payments_customer_churn"] == customers
    assert all(meta[name]["exit_code"] == 0 for name in meta)
    # Reported by the feature repo itself through Pipes (dagster-pipes in its process).
    assert meta["feast_export"]["feature_repo_command"] == "export"
    assert meta["feast_apply"]["feature_repo_command"] == "apply"
    assert (meta["feast_apply"]["entities"], meta["feast_apply"]["feature_services"]) == (3, 2)
    assert meta["feast_materialize"]["start"] == "incremental"
    # The Pipes client ran each command as a step (its logs in the step's compute logs).
    steps = {e.step_key for e in result.all_events if e.event_type == DagsterEventType.STEP_SUCCESS}
    assert {"feast_export", "feast_apply", "feast_materialize"} <= steps

    port = free_port()
    with start_server(
        [python311(), str(FEATURE_REPO_PEX.resolve()), "serve"],
        base_url=f"http://127.0.0.1:{port}",
        ready_path="/health",
        log_path=tmp_path / "feature-server.log",
        env={"PYTHONPATH": "", "FEATURE_REPO_ROOT": str(root), "FEATURE_REPO_PORT": str(port), "FEAST_USAGE": "False"},
        timeout_seconds=180,
    ) as server:
        body = {"feature_service": "churn_v1", "entities": {"customer_id": [row[0] for row in latest]}}
        request = urllib.request.Request(  # noqa: S310 (loopback URL we built)
            f"{server.base_url}/get-online-features",
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 (loopback)
            document = json.load(response)
    names = document["metadata"]["feature_names"]
    for index, row in enumerate(latest):
        served = {name: document["results"][names.index(name)]["values"][index] for name in CHURN_FEATURE_NAMES}
        assert served == pytest.approx(dict(zip(CHURN_FEATURE_NAMES, row[1:], strict=True)))

    # The training set's features through Feast's historical retrieval equal dbt's (blocking check).
    retrieval = materialize(
        assets,
        selection=AssetSelection.assets("fraud_training_set", "feast_fraud_training_features"),
        resources=stack.resources(),
    )
    assert retrieval.success
    checks = {e.check_name: (e.passed, e.metadata) for e in retrieval.get_asset_check_evaluations()}
    passed, check_meta = checks["matches_dbt_training_set"]
    assert passed
    [event] = [
        e
        for e in retrieval.get_asset_materialization_events()
        if e.materialization.asset_key == AssetKey("feast_fraud_training_features")
    ]
    reported: dict[str, Any] = {k: v.value for k, v in event.materialization.metadata.items()}
    assert (reported["feature_repo_command"], reported["service"]) == ("training-set", "fraud_v1")
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as connection:
        [(with_features,)] = connection.execute(
            "select count(*) from ml.fraud_training_set where feature_time is not null"
        ).fetchall()
        [(feast_rows, customer_txn_1h)] = connection.execute(
            "select count(*), sum(customer_txn_count_1h) from ml.fraud_training_set_feast"
        ).fetchall()
        [(dbt_customer_txn_1h,)] = connection.execute(
            "select sum(customer_txn_count_1h) from ml.fraud_training_set where feature_time is not null"
        ).fetchall()
    assert check_meta["joined_rows"].value == feast_rows == with_features == reported["rows"] > 0
    assert customer_txn_1h == pytest.approx(dbt_customer_txn_1h)
