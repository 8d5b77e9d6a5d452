"""dbt output -> feast apply -> materialize -> a real feature server.

The warehouse is built by a real `dbt build` (the `dbt:dbt-cli` pex) on the dbt tests' fixture
dataset; the expected values are read from dbt's tables, so the test shows that Feast serves what
dbt computed, online (for each entity's latest event) and offline (point in time).
"""

import json
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd  # type: ignore[import-untyped]
import pytest
from warehouse import bronze, fixture, run

from contracts.schemas.features import CHURN_FEATURE_NAMES
from contracts.schemas.no_history import FRAUD_STORED_FEATURES
from feature_repo import cli
from feature_repo.definitions import CARD_VELOCITY, CUSTOMER_VELOCITY, VELOCITY_PUSH_SOURCES
from feature_repo.settings import FeatureRepoSettings, load_settings
from feature_repo.store import open_store
from testing.feast_server import start_feature_server
from testing.processes import ServerProcess

DBT_CLI = Path("dbt/dbt-cli.pex")


@dataclass(frozen=True)
class Built:
    settings: FeatureRepoSettings
    warehouse: Path

    def query(self, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
        return bronze.query(self.warehouse, sql, params or [])


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    work = tmp_path_factory.mktemp("features")
    warehouse = work / "warehouse.duckdb"
    bronze.create_bronze(warehouse)
    data = fixture.fixture_dataset()
    for table in bronze.BRONZE_TABLES:
        bronze.load(warehouse, table, fixture.rows(data, table))
    run.dbt(["build"], duckdb_path=warehouse, work_dir=work, executable=[str(DBT_CLI.resolve())])
    settings = load_settings(root=work / "repo", warehouse_path=warehouse)
    counts = cli.export(settings)
    assert counts["fraud_features"] > 600
    cli.apply(settings)
    newest = max(event["occurred_at"] for event in data.events)
    cli.materialize(settings, datetime(2000, 1, 1, tzinfo=UTC), newest.replace(tzinfo=UTC) + timedelta(seconds=1))
    return Built(settings, warehouse)


@pytest.fixture(scope="module")
def server(built: Built) -> Iterator[ServerProcess]:
    with start_feature_server(built.settings.root) as process:
        yield process


def _online(server: ServerProcess, service: str, entities: dict[str, list[str]]) -> list[dict[str, Any]]:
    body = json.dumps({"feature_service": service, "entities": entities}).encode()
    url = f"{server.base_url}/get-online-features"
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})  # noqa: S310
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (loopback URL we built)
        document = json.load(response)
    names, results = document["metadata"]["feature_names"], document["results"]
    rows: list[dict[str, Any]] = [{} for _ in next(iter(entities.values()))]
    for name, column in zip(names, results, strict=True):
        for row, value, status in zip(rows, column["values"], column["statuses"], strict=True):
            row[name] = (value, status)
    return rows


def _latest_per(built: Built, key: str) -> dict[str, dict[str, Any]]:
    """dbt's fraud row of each entity's latest event (entities whose latest instant holds one row)."""
    rows = built.query(
        f"select * from fraud_features qualify count(*) over (partition by {key}, event_timestamp) = 1 "  # noqa: S608
        f"and event_timestamp = max(event_timestamp) over (partition by {key})"
    )
    return {row[key]: row for row in rows}


def test_fraud_v1_online_equals_dbt_for_each_entitys_latest_event(built: Built, server: ServerProcess) -> None:
    customers, cards, merchants = (
        _latest_per(built, key) for key in ("customer_id", "card_fingerprint", "merchant_id")
    )
    customer_ids = sorted(customers)[:15]
    card_ids = sorted(cards)[:15]
    merchant_ids = [sorted(merchants)[i % len(merchants)] for i in range(15)]
    rows = _online(
        server,
        "fraud_v1",
        {"customer_id": customer_ids, "card_fingerprint": card_ids, "merchant_id": merchant_ids},
    )
    assert len(customer_ids) == len(card_ids) == 15
    for row, customer, card, merchant in zip(rows, customer_ids, card_ids, merchant_ids, strict=True):
        assert row["customer_txn_count_24h"] == (customers[customer]["customer_txn_count_24h"], "PRESENT")
        assert row["customer_avg_amount_usd_30d"][0] == pytest.approx(
            customers[customer]["customer_avg_amount_usd_30d"]
        )
        assert row["customer_tenure_days"][0] == pytest.approx(customers[customer]["customer_tenure_days"])
        assert row["card_txn_count_1h"] == (cards[card]["card_txn_count_1h"], "PRESENT")
        assert row["card_distinct_merchants_24h"] == (cards[card]["card_distinct_merchants_24h"], "PRESENT")
        assert row["card_decline_count_24h"] == (cards[card]["card_decline_count_24h"], "PRESENT")
        assert row["customer_distinct_cards_7d"] == (customers[customer]["customer_distinct_cards_7d"], "PRESENT")
        assert row["customer_amount_usd_24h"][0] == pytest.approx(customers[customer]["customer_amount_usd_24h"])
        assert row["merchant_risk_score"][0] == pytest.approx(merchants[merchant]["merchant_risk_score"])
    assert set(rows[0]) >= set(FRAUD_STORED_FEATURES)


def test_an_unknown_card_is_not_found_online(server: ServerProcess) -> None:
    [row] = _online(
        server,
        "fraud_v1",
        {"customer_id": ["cus_edge"], "card_fingerprint": ["card_never"], "merchant_id": ["mer_edge"]},
    )
    assert row["card_txn_count_1h"] == (None, "NOT_FOUND")
    assert row["is_new_card_for_customer"] == (None, "NOT_FOUND")
    assert row["customer_txn_count_24h"][1] == "PRESENT"


def test_churn_v1_online_equals_dbt(built: Built, server: ServerProcess) -> None:
    [latest] = built.query(
        "select * from churn_features where customer_id = 'cus_edge' order by event_timestamp desc limit 1"
    )
    [row] = _online(server, "churn_v1", {"customer_id": ["cus_edge"]})
    for name in CHURN_FEATURE_NAMES:
        assert row[name][0] == pytest.approx(latest[name]), name


def test_historical_retrieval_is_point_in_time(built: Built) -> None:
    edge = {
        row["payment_id"]: row for row in built.query("select * from fraud_features where customer_id = 'cus_edge'")
    }

    def at(payment: str) -> datetime:
        stamp: datetime = edge[payment]["event_timestamp"]
        return stamp.replace(tzinfo=UTC)

    requests = pd.DataFrame(
        {
            "customer_id": ["cus_edge"] * 3,
            "card_fingerprint": ["card_edge"] * 3,
            "merchant_id": ["mer_edge"] * 3,
            # At edge_4's time: edge_4's own row. One microsecond earlier: the 11:00 rows. At edge_5.
            "event_timestamp": [at("edge_4"), at("edge_4") - timedelta(microseconds=1), at("edge_5")],
        }
    )
    frame = cli.training_set(built.settings, requests, "fraud_v1").sort_values("event_timestamp")
    values = frame["customer_txn_count_24h"].tolist()
    assert values == [
        edge["edge_3"]["customer_txn_count_24h"],
        edge["edge_4"]["customer_txn_count_24h"],
        edge["edge_5"]["customer_txn_count_24h"],
    ]
    assert values == [1.0, 3.0, 4.0]  # worked by hand in dbt/tests/test_features.py's edges
    assert frame["customer_amount_usd_24h"].tolist() == [10.0, 60.0, 100.0]


def test_a_push_to_the_velocity_source_overwrites_what_fraud_v1_serves(built: Built, server: ServerProcess) -> None:
    [customer, card] = (sorted(_latest_per(built, key)) for key in ("customer_id", "card_fingerprint"))
    # Entities the dbt comparison above does not read (it takes the first 15 of each).
    assert len(customer) > 15 and len(card) > 15
    customer_id, card_id = customer[-1], card[-1]
    before = _online(
        server, "fraud_v1", {"customer_id": [customer_id], "card_fingerprint": [card_id], "merchant_id": ["m"]}
    )
    assert before[0]["customer_distinct_cards_7d"][1] == "PRESENT"  # materialized from dbt
    store = open_store(built.settings)
    now = datetime.now(UTC)
    # A customer's row only: the customer push source writes the customer view and nothing else.
    pushed = pd.DataFrame(
        {"customer_id": [customer_id], "event_timestamp": [now], **{name: [97.0] for name in CUSTOMER_VELOCITY}}
    )
    store.push(VELOCITY_PUSH_SOURCES["customer"], pushed)
    pushed_card = pd.DataFrame(
        {"card_fingerprint": [card_id], "event_timestamp": [now], **{name: [98.0] for name in CARD_VELOCITY}}
    )
    store.push(VELOCITY_PUSH_SOURCES["card"], pushed_card)
    [after] = _online(
        server, "fraud_v1", {"customer_id": [customer_id], "card_fingerprint": [card_id], "merchant_id": ["m"]}
    )
    assert {name: after[name] for name in CUSTOMER_VELOCITY} == {name: (97.0, "PRESENT") for name in CUSTOMER_VELOCITY}
    assert {name: after[name] for name in CARD_VELOCITY} == {name: (98.0, "PRESENT") for name in CARD_VELOCITY}
    # The rest of the customer's features are the batch ones, untouched by the push.
    assert after["customer_tenure_days"] == before[0]["customer_tenure_days"]
