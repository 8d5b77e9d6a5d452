"""dbt's point-in-time features against an independent computation and hand-worked edges."""

from datetime import datetime, timedelta

import pytest
from conftest import Warehouse, build_warehouse
from expected import churn_features, fraud_features
from warehouse.fixture import EDGE_START, Dataset

from contracts.schemas.features import CHURN_FEATURE_NAMES, FRAUD_FEATURE_NAMES
from contracts.schemas.no_history import CHURN_NO_HISTORY, FRAUD_NO_HISTORY

# Compared independently; hour_of_day and is_foreign_card are checked on the edge rows.
FRAUD_CHECKED = [name for name in FRAUD_FEATURE_NAMES if name not in ("hour_of_day", "is_foreign_card")]


def test_every_fraud_feature_equals_an_independent_computation(warehouse: Warehouse) -> None:
    expected = fraud_features(warehouse.data)
    rows = {row["payment_id"]: row for row in warehouse.query("select * from fraud_features")}
    assert rows.keys() == expected.keys()
    assert len(rows) > 600
    for payment_id, values in expected.items():
        for name in FRAUD_CHECKED:
            assert rows[payment_id][name] == pytest.approx(values[name], rel=1e-9, abs=1e-9), (payment_id, name)
    # The data exercises every window: not all zeros anywhere.
    for name in FRAUD_CHECKED:
        assert any(values[name] for values in expected.values()), name


def test_every_churn_feature_equals_an_independent_computation(warehouse: Warehouse) -> None:
    expected = churn_features(warehouse.data)
    rows = {
        (row["customer_id"], row["event_timestamp"]): row for row in warehouse.query("select * from churn_features")
    }
    assert rows.keys() == expected.keys()
    for key, values in expected.items():
        for name in CHURN_FEATURE_NAMES:
            assert rows[key][name] == pytest.approx(values[name], rel=1e-9, abs=1e-9), (key, name)
    for name in CHURN_FEATURE_NAMES:
        assert any(values[name] for values in expected.values()), name


def _edge(warehouse: Warehouse) -> dict[str, dict[str, float]]:
    rows = warehouse.query("select * from fraud_features where customer_id = 'cus_edge'")
    return {row["payment_id"]: row for row in rows}


def test_an_event_exactly_one_window_before_is_in_and_one_at_the_same_instant_is_out(warehouse: Warehouse) -> None:
    edge = _edge(warehouse)
    # edge_2 at 11:00: edge_1 at 10:00 is exactly 1 h before, so in; edge_3, also at 11:00, is out.
    assert edge["edge_2"]["customer_txn_count_1h"] == 1
    assert edge["edge_3"]["customer_txn_count_1h"] == 1
    assert edge["edge_2"]["card_txn_count_1h"] == 1
    # edge_4 at 12:00:00.000001: edge_2 and edge_3 are 1 h and 1 us before, so out of 1 h.
    assert edge["edge_4"]["customer_txn_count_1h"] == 0
    assert edge["edge_4"]["customer_txn_count_24h"] == 3
    assert edge["edge_4"]["customer_amount_usd_24h"] == 10 + 20 + 30
    # edge_2 was declined at 11:00: not before edge_3 (same instant), before edge_4.
    assert edge["edge_3"]["card_decline_count_24h"] == 0
    assert edge["edge_4"]["card_decline_count_24h"] == 1
    # edge_5 at 10:00 next day: edge_1 is exactly 24 h before (in), the rest within 24 h.
    assert edge["edge_5"]["customer_txn_count_24h"] == 4
    assert edge["edge_5"]["customer_amount_usd_24h"] == 100
    assert edge["edge_5"]["customer_avg_amount_usd_30d"] == 25
    assert edge["edge_5"]["amount_to_customer_avg_ratio"] == 2  # 50 / 25
    assert edge["edge_5"]["customer_tenure_days"] == 1
    assert edge["edge_5"]["hour_of_day"] == 10
    assert edge["edge_4"]["customer_tenure_days"] == pytest.approx((2 * 3600 + 1e-6) / 86400)


def test_first_events_carry_the_contracts_no_history_values(warehouse: Warehouse) -> None:
    first = _edge(warehouse)["edge_1"]
    assert {name: first[name] for name in FRAUD_NO_HISTORY} == dict(FRAUD_NO_HISTORY) | {
        "is_new_country_for_customer": 1.0,
        "merchant_risk_score": 0.0,
    }
    assert first["amount_to_customer_avg_ratio"] == 1.0
    [churn] = warehouse.query(
        "select * from churn_features where customer_id = 'cus_edge' and event_timestamp = ?", [EDGE_START]
    )
    assert {name: churn[name] for name in CHURN_NO_HISTORY} == dict(CHURN_NO_HISTORY)


def test_no_feature_uses_the_event_itself_or_a_later_one(warehouse: Warehouse) -> None:
    """Every row agrees with a computation that sees only events strictly before it (above); here,
    directly: a customer's rows at one instant are identical, whatever the order of their events."""
    rows = warehouse.query(
        "select * from fraud_features where customer_id = 'cus_edge' and event_timestamp = ?",
        [EDGE_START + timedelta(hours=1)],
    )
    stored = [name for name in FRAUD_NO_HISTORY if name != "is_new_card_for_customer"]
    assert len(rows) == 2
    assert {name: rows[0][name] for name in stored} == {name: rows[1][name] for name in stored}
    latest = warehouse.query("select max(event_timestamp) as t from fraud_features")[0]["t"]
    assert isinstance(latest, datetime)


def test_removing_every_later_event_changes_no_earlier_row(
    warehouse: Warehouse, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Leakage: a second warehouse built only from the events before a cutoff (later refunds and
    disputes of earlier payments dropped too) has exactly the same rows before the cutoff."""
    times = sorted(event["occurred_at"] for event in warehouse.data.events)
    cutoff = times[len(times) // 2]
    past = Dataset(
        events=[event for event in warehouse.data.events if event["occurred_at"] < cutoff],
        payments=[row for row in warehouse.data.payments if row["first_seen_at"] < cutoff],
        decisions=[row for row in warehouse.data.decisions if row["decided_at"] < cutoff],
    )
    assert len(past.events) < len(warehouse.data.events)
    truncated = build_warehouse(tmp_path_factory.mktemp("truncated"), past)
    for table, key in (("fraud_features", "payment_id"), ("churn_features", "customer_id, event_timestamp")):
        sql = f"select * from {table} where event_timestamp < ? order by {key}"  # noqa: S608
        full, cut = warehouse.query(sql, [cutoff]), truncated.query(sql, [cutoff])
        assert len(full) > 200
        assert len(full) == len(cut), table
        for before, after in zip(full, cut, strict=True):
            assert before.keys() == after.keys()
            for name, value in before.items():
                if isinstance(value, float):  # summed in another order: equal to the last bits
                    assert after[name] == pytest.approx(value, rel=1e-12, abs=1e-12), (table, name, before)
                else:
                    assert after[name] == value, (table, name, before)
    # And the cutoff did remove events that happened after it but belong to earlier payments.
    later = [e for e in warehouse.data.events if e["occurred_at"] >= cutoff and e["event_type"] != "payment.succeeded"]
    assert any(e["payment_id"] in {p["payment_id"] for p in past.payments} for e in later)
