"""Velocity features: the names are the fraud feature set's, a record carries exactly its entity's."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from contracts.schemas.features import FRAUD_FEATURE_NAMES
from contracts.schemas.no_history import FRAUD_STORED_FEATURES
from contracts.schemas.velocity import (
    LONGEST_ENTITY_WINDOW,
    LONGEST_VELOCITY_WINDOW,
    VELOCITY_FEATURE_NAMES,
    VELOCITY_FEATURES,
    CardVelocity,
    VelocityFeatures,
    velocity_features,
)
from contracts.topics import VELOCITY

EVENT_ID = "0b7f8f52-4e0e-4a53-8a2c-7d1e1e0e9a01"


def test_names_are_fraud_features_per_entity() -> None:
    assert {
        "customer": (
            "customer_txn_count_1h",
            "customer_txn_count_24h",
            "customer_amount_usd_24h",
            "customer_distinct_cards_7d",
        ),
        "card": ("card_txn_count_1h", "card_distinct_merchants_24h", "card_decline_count_24h"),
    } == VELOCITY_FEATURE_NAMES
    assert all(name in FRAUD_FEATURE_NAMES for names in VELOCITY_FEATURE_NAMES.values() for name in names)
    assert timedelta(days=7) == LONGEST_VELOCITY_WINDOW
    assert {"customer": timedelta(days=7), "card": timedelta(hours=24)} == LONGEST_ENTITY_WINDOW


def test_every_short_window_stored_fraud_feature_is_streamed() -> None:
    # The stored fraud features whose names end in a window of at most 7 days, listed by hand.
    short = [name for name in FRAUD_STORED_FEATURES if name.endswith(("_1h", "_24h", "_7d"))]
    assert len(short) == 7
    assert [f.name for f in VELOCITY_FEATURES] == short


def test_a_record_round_trips_through_its_topic() -> None:
    record = VelocityFeatures(
        entity="card",
        entity_id="fp_1",
        as_of="2026-12-01T10:00:00+01:00",
        event_id=EVENT_ID,
        payment_id="stripe:pi_1",
        features=CardVelocity(card_txn_count_1h=2.0, card_distinct_merchants_24h=1.0, card_decline_count_24h=0.0),
    )
    assert record.key() == "card:fp_1"
    assert record.as_of.isoformat() == "2026-12-01T09:00:00+00:00"
    assert VELOCITY.decode(record.model_dump_json()) == record
    assert record.values() == {
        "card_txn_count_1h": 2.0,
        "card_distinct_merchants_24h": 1.0,
        "card_decline_count_24h": 0.0,
    }
    assert record.missing() == ()


def test_a_record_of_a_1_3_producer_still_reads_and_says_what_it_lacks() -> None:
    document = {
        "entity": "customer",
        "entity_id": "cus_1",
        "as_of": "2026-12-01T10:00:00Z",
        "event_id": EVENT_ID,
        "payment_id": "p",
        "features": {"customer_txn_count_1h": 1, "customer_txn_count_24h": 2, "customer_amount_usd_24h": 3.5},
    }
    record = VelocityFeatures.model_validate(document)
    assert record.missing() == ("customer_distinct_cards_7d",)
    assert record.values() == {
        "customer_txn_count_1h": 1.0,
        "customer_txn_count_24h": 2.0,
        "customer_amount_usd_24h": 3.5,
    }


def test_a_producer_cannot_build_an_incomplete_record() -> None:
    with pytest.raises(ValueError, match="card_decline_count_24h"):
        velocity_features(
            "card",
            "fp_1",
            datetime(2026, 12, 1, tzinfo=UTC),
            uuid.UUID(EVENT_ID),
            "p",
            {"card_txn_count_1h": 1.0, "card_distinct_merchants_24h": 1.0},
        )


@pytest.mark.parametrize(
    ("entity", "features"),
    [
        ("card", {"customer_txn_count_1h": 1.0}),  # another entity's feature
        ("customer", {"customer_txn_count_1h": 1.0}),  # missing ones
        ("card", {"card_txn_count_1h": -1.0}),  # negative
        ("card", {"card_txn_count_1h": 1.0, "card_decline_count_24h": -1.0}),  # a 1.4 one, negative
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
