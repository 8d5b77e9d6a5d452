"""Normalized events, features, scoring and decisions: the rules every consumer relies on."""

import math
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from uuid import uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from contracts.reference.providers import Provider
from contracts.schemas.features import FRAUD_FEATURE_NAMES, ChurnFeatures, FraudFeatures
from contracts.schemas.normalized_event import EventType, NormalizedEvent, PaymentStatus, event_id_for
from contracts.schemas.scoring import FraudScoreRequest
from testing.strategies import instances


def event(**overrides: Any) -> dict[str, Any]:
    return {
        "event_id": str(uuid4()),
        "provider": "stripe",
        "provider_event_id": "evt_1",
        "event_type": "payment.succeeded",
        "payment_id": "stripe:pi_1",
        "status": "succeeded",
        "amount_minor": 1000,
        "currency": "USD",
        "occurred_at": "2024-05-01T12:00:00+02:00",
        "merchant_id": "m_1",
    } | overrides


def test_times_are_converted_to_utc() -> None:
    parsed = NormalizedEvent.model_validate(event())
    assert parsed.occurred_at == datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
    assert parsed.occurred_at.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("currency", "usd", "value_error"),
        ("currency", "XAU", "value_error"),
        ("amount_minor", 10.5, "int_type"),
        ("amount_minor", "1000", "int_type"),
        ("event_type", "payment.exploded", "enum"),
        ("status", "fine", "enum"),
        ("occurred_at", "2024-05-01T12:00:00", "value_error"),
        ("unexpected", 1, "extra_forbidden"),
    ],
)
def test_rejects_invalid_field_with_its_location(field: str, value: object, error: str) -> None:
    with pytest.raises(ValidationError) as exc:
        NormalizedEvent.model_validate(event(**{field: value}))
    assert [(e["loc"], e["type"]) for e in exc.value.errors()] == [((field,), error)]


@given(instances(NormalizedEvent))
def test_amounts_stay_integers_in_minor_units(parsed: NormalizedEvent) -> None:
    assert type(parsed.amount_minor) is int  # noqa: E721  (exactly int: bool would pass isinstance)
    assert parsed.occurred_at.tzinfo is not None and parsed.occurred_at.utcoffset() == timedelta(0)
    assert isinstance(parsed.event_type, EventType) and isinstance(parsed.status, PaymentStatus)


@given(st.sampled_from(list(Provider)), st.text(min_size=1, max_size=40))
def test_event_ids_are_deterministic_per_provider_event(provider: Provider, provider_event_id: str) -> None:
    assert event_id_for(provider, provider_event_id) == event_id_for(provider, provider_event_id)
    other = next(p for p in Provider if p is not provider)
    assert event_id_for(provider, provider_event_id) != event_id_for(other, provider_event_id)


def test_feature_order_is_the_declaration_order() -> None:
    features = FraudFeatures(**{name: float(i % 2) for i, name in enumerate(FRAUD_FEATURE_NAMES)})
    assert features.as_row() == [float(i % 2) for i in range(len(FRAUD_FEATURE_NAMES))]
    assert "feature_set_version" not in FRAUD_FEATURE_NAMES
    assert ChurnFeatures.feature_names[0] == "days_since_last_payment"


@pytest.mark.parametrize("bad", [math.nan, math.inf, -1.0])
def test_features_refuse_nan_inf_and_negative(bad: float) -> None:
    values = {name: 0.0 for name in FRAUD_FEATURE_NAMES} | {"amount_usd": bad}
    with pytest.raises(ValidationError) as exc:
        FraudFeatures(**values)
    assert exc.value.errors()[0]["loc"] == ("amount_usd",)


def test_features_refuse_another_feature_set_version() -> None:
    values: dict[str, object] = {name: 0.0 for name in FRAUD_FEATURE_NAMES} | {"feature_set_version": "fraud_v0"}
    with pytest.raises(ValidationError) as exc:
        FraudFeatures.model_validate(values)
    assert exc.value.errors()[0]["loc"] == ("feature_set_version",)


def test_score_request_needs_features_or_lookup_keys() -> None:
    with pytest.raises(ValidationError, match="give either `features`"):
        FraudScoreRequest(payment_id="p1", customer_id="c1")
    ok = FraudScoreRequest.model_validate(
        {
            "payment_id": "p1",
            "customer_id": "c1",
            "card_fingerprint": "fp",
            "context": {
                "amount_minor": 100,
                "currency": "EUR",
                "occurred_at": datetime(2024, 1, 1, tzinfo=timezone(timedelta(hours=1))).isoformat(),
                "merchant_id": "m",
            },
        }
    )
    assert ok.context is not None and ok.context.occurred_at.tzinfo == UTC
