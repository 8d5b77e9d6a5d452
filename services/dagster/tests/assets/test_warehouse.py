"""The dbt group materialized in-process with real dbt on the small simulated dataset."""

import duckdb
from conftest import Stack
from dagster import AssetKey, AssetsDefinition


def test_dbt_builds_every_model_and_its_tests_pass(built: Stack) -> None:
    warehouse_keys = {
        key for assets in built.defs.assets or [] for key in getattr(assets, "keys", ()) if key.path[0] != "bronze"
    }
    assert {AssetKey("fct_payments"), AssetKey("fraud_features"), AssetKey("fct_disputes")} <= warehouse_keys

    with duckdb.connect(str(built.settings.warehouse_path), read_only=True) as connection:
        payments = connection.execute("select count(*) from fct_payments").fetchone()
        features = connection.execute("select count(*) from fraud_features").fetchone()
        lost = connection.execute("select count(*) from fct_disputes where outcome = 'lost'").fetchone()
    # Worked from the generator, not from dbt: one payment per attempt, one features row each.
    assert payments == (len(built.rows.payments),)
    assert features == (len(built.rows.payments),)
    assert lost == (sum(1 for e in built.rows.payment_events if e.event_type == "dispute.lost"),)


def test_dbt_tests_are_blocking_asset_checks(built: Stack) -> None:
    dbt_assets = next(
        a for a in built.defs.assets or [] if isinstance(a, AssetsDefinition) and a.op.name == "warehouse_dbt"
    )
    specs = list(dbt_assets.check_specs)
    assert len(specs) > 50
    assert all(spec.blocking for spec in specs)


def test_every_dbt_test_ran_and_passed(built: Stack) -> None:
    evaluations = built.result.get_asset_check_evaluations()
    dbt_checks = [e for e in evaluations if e.asset_key.path[0] != "bronze"]
    assert len(dbt_checks) > 50
    assert [e.check_name for e in dbt_checks if not e.passed] == []
