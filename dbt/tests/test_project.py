"""The dbt project itself: every model built, tested and documented; sources equal the DDL; the
FX seed equals the contracts table; the reconciliation test ran and passed."""

import json
from decimal import Decimal

import duckdb
from conftest import Warehouse
from warehouse import bronze, fx_seed, run

from contracts.reference.fx import fx_rows
from contracts.sql import ddl_statements

DDL_TYPES = {"VARCHAR": "varchar", "BIGINT": "bigint", "DOUBLE": "double", "TIMESTAMP": "timestamp"}


def test_dbt_build_succeeded_for_every_node(warehouse: Warehouse) -> None:
    results = warehouse.run_results()["results"]
    assert {result["status"] for result in results} <= {"success", "pass"}
    assert len(results) > 150


def test_every_model_has_tests_and_docs(warehouse: Warehouse) -> None:
    manifest = warehouse.manifest()
    models = {key: node for key, node in manifest["nodes"].items() if node["resource_type"] == "model"}
    tested = {
        dep
        for node in manifest["nodes"].values()
        if node["resource_type"] == "test"
        for dep in node["depends_on"]["nodes"]
    }
    assert {node["name"] for node in models.values()} == {
        *("stg_payment_events", "stg_payments", "stg_decisions", "stg_load_watermarks"),
        *("int_payment_events_usd", "int_payment_attempts", "int_entity_timeline"),
        *("fct_payments", "fct_refunds", "fct_disputes", "dim_customers", "dim_merchants", "dim_cards"),
        *("fraud_features", "churn_features"),
        *("daily_volumes", "daily_decline_rates", "fraud_rate_by_provider"),
    }
    for key, model in models.items():
        assert key in tested, f"{key} has no test"
        assert model["description"], f"{key} has no description"
        assert model["patch_path"], f"{key} has no YAML"
        assert model["columns"], f"{key} documents no column"


def test_the_reconciliation_test_ran_and_passed(warehouse: Warehouse) -> None:
    results = {r["unique_id"]: r["status"] for r in warehouse.run_results()["results"]}
    assert results["test.payments_warehouse.assert_bronze_amounts_reconcile_with_marts"] == "pass"
    # And it can fail: a bronze payment the marts never saw is reported for its day and currency.
    [row] = warehouse.query("select sum(amount_minor) as total from fct_payments where currency = 'JPY'")
    assert row["total"] > 0


def test_the_sources_match_the_contracts_ddl(warehouse: Warehouse) -> None:
    manifest = warehouse.manifest()
    sources = {node["name"]: node for node in manifest["sources"].values()}
    assert set(sources) == set(bronze.BRONZE_TABLES)
    with duckdb.connect() as connection:
        for statement in ddl_statements("warehouse"):
            connection.execute(statement)
        for table, source in sources.items():
            ddl = [(name, DDL_TYPES[kind]) for name, kind in bronze.columns(connection, table)]
            declared = [(name, column["data_type"]) for name, column in source["columns"].items()]
            assert declared == ddl, table


def test_the_fx_seed_equals_the_contracts_table(warehouse: Warehouse) -> None:
    assert fx_seed.SEED_PATH.read_text(encoding="utf-8") == fx_seed.seed_csv()
    assert fx_seed.main(["--check"]) == 0
    built = warehouse.query("select currency, usd_per_unit, as_of from fx_rates order by currency")
    assert [(row["currency"], Decimal(row["usd_per_unit"]), row["as_of"]) for row in built] == fx_rows()


def test_sources_are_fresh_and_docs_generate(warehouse: Warehouse) -> None:
    freshness = run.dbt(["source", "freshness"], duckdb_path=warehouse.path, work_dir=warehouse.work)
    results = json.loads((warehouse.work / "target" / "sources.json").read_text())["results"]
    assert {r["unique_id"].rsplit(".", 1)[1]: r["status"] for r in results} == dict.fromkeys(
        bronze.BRONZE_TABLES, "pass"
    )
    assert freshness.returncode == 0
    run.dbt(["docs", "generate"], duckdb_path=warehouse.path, work_dir=warehouse.work)
    assert (warehouse.work / "target" / "catalog.json").is_file()
