"""Rules from contracts reference data, and the thresholds."""

from __future__ import annotations

import pytest
from events import make_event, new_payment_id

from contracts.schemas.decision import Decision
from contracts.schemas.normalized_event import EventType
from orchestrator.rules import RuleOutcome, decide, evaluate_rules

NONE = RuleOutcome((), None)


@pytest.mark.parametrize(
    ("score", "expected"),
    [
        (0.0, Decision.APPROVE),
        (0.4999, Decision.APPROVE),
        (0.5, Decision.REVIEW),
        (0.8499, Decision.REVIEW),
        (0.85, Decision.DECLINE),
        (1.0, Decision.DECLINE),
    ],
)
def test_thresholds_are_inclusive_from_below(score: float, expected: Decision) -> None:
    assert decide(score, NONE, review_threshold=0.5, decline_threshold=0.85) is expected


def test_an_issuer_fraud_decline_is_declined_whatever_the_score() -> None:
    # Stripe's `stolen_card` is LOST_OR_STOLEN in contracts' decline taxonomy.
    event = make_event(new_payment_id(), EventType.PAYMENT_FAILED, decline_code="stolen_card")
    rules = evaluate_rules(event)
    assert rules.forced is Decision.DECLINE
    assert rules.triggered == ("issuer_decline_lost_or_stolen",)
    assert decide(0.01, rules, 0.5, 0.85) is Decision.DECLINE


def test_a_foreign_card_is_flagged_but_not_decided() -> None:
    event = make_event(new_payment_id()).model_copy(update={"ip_country": "FR"})
    rules = evaluate_rules(event)
    assert rules == RuleOutcome(("foreign_card",), None)
    assert decide(0.1, rules, 0.5, 0.85) is Decision.APPROVE


def test_an_ordinary_decline_forces_nothing() -> None:
    event = make_event(new_payment_id(), EventType.PAYMENT_FAILED, decline_code="insufficient_funds")
    assert evaluate_rules(event) == NONE
