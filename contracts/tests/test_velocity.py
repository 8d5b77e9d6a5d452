"""Velocity features: the names are the fraud feature set's, a record carries exactly its entity's."""

from datetime import timedelta

import pytest
from pydantic import ValidationError

from contracts.schemas.features import FRAUD_FEATURE_NAMES
from contracts.schemas.velocity import (
    LONGEST_VELOCITY_WINDOW,
    VELOCITY_FEATURE_NAMES,
    CardVelocity,
    VelocityFeatures,
)
from contracts.topics import VELOCITY

EVENT_ID = "0b7f8f52-4e0e-4a53-8a2c-7d1e1e0e9a01"


def test_names_are_fraud_features_per_entity() -> None:
    assert {
        "customer": ("customer_txn_count_1h", "customer_txn_count_24h", "customer_amount_usd_24h"),
        "card": ("card_txn_count_1h",),
    } == VELOCITY_FEATURE_NAMES
    assert all(name in FRAUD_FEATURE_NAMES for names in VELOCITY_FEATURE_NAMES.values() for name in names)
    assert timedelta(hours=24) == LONGEST_VELOCITY_WINDOW


def test_a_record_round_trips_through_its_topic() -> None:
    record = VelocityFeatures(
        entity="card",
        entity_id="fp_1",
        as_of="2026-12-01T10:00:00+01:00",
        event_id=EVENT_ID,
        payment_id="stripe:pi_1",
        features=CardVelocity(card_txn_count_1h=2.0),
    )
    assert record.key() == "card:fp_1"
    assert record.as_of.isoformat() == "2026-12-01T09:00:00+00:00"
    assert VELOCITY.decode(record.model_dump_json()) == record
    assert record.values() == {"card_txn_count_1h": 2.0}


@pytest.mark.parametrize(
    ("entity", "features"),
    [
        ("card", {"customer_txn_count_1h": 1.0}),  # another entity's feature
        ("customer", {"customer_txn_count_1h": 1.0}),  # missing ones
        ("card", {"card_txn_count_1h": -1.0}),  # negative
        ("card", {"card_txn_count_1h": 1.0, "extra": 1.0}),
    ],
)
def test_a_record_carries_exactly_its_entity_features(entity: str, features: dict[str, float]) -> None:
    with pytest.raises(ValidationError):
        VelocityFeatures.model_validate(
            {
                "entity": entity,
                "entity_id": "x",
                "as_of": "2026-12-01T10:00:00Z",
                "event_id": EVENT_ID,
                "payment_id": "p",
                "features": features,
            }
        )
