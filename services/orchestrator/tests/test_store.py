"""The payments store keeps every event once, one row per payment, and one decision per event,
on SQLite and on PostgreSQL alike."""

from __future__ import annotations

from datetime import UTC, datetime

from events import T0, make_dead_letter, make_event, new_payment_id

from contracts.schemas.decision import Decision, PaymentDecision
from contracts.schemas.normalized_event import EventType
from orchestrator.store import PaymentsStore


def _decision(payment_id: str, event_id: object, decision: Decision, score: float) -> PaymentDecision:
    return PaymentDecision.model_validate(
        {
            "event_id": event_id,
            "payment_id": payment_id,
            "provider": "stripe",
            "amount_minor": 2500,
            "currency": "USD",
            "decision": decision,
            "fraud_score": score,
            "fraud_model_version": "rules-v1",
            "rules_triggered": ("foreign_ip",),
            "decided_at": T0,
        }
    )


def test_an_event_recorded_twice_is_kept_once(store: PaymentsStore) -> None:
    payment_id = new_payment_id()
    event = make_event(payment_id)
    assert store.record_event(event) is True
    assert store.record_event(event) is False
    rows = store.payment_events(payment_id)
    assert [row.event_id for row in rows] == [str(event.event_id)]
    assert rows[0].occurred_at == T0
    assert rows[0].card_fingerprint == "fp_safe"


def test_every_event_is_kept_with_its_time_and_the_payment_has_the_latest_status(store: PaymentsStore) -> None:
    payment_id = new_payment_id()
    succeeded = make_event(payment_id, EventType.PAYMENT_SUCCEEDED, minutes=0)
    disputed = make_event(payment_id, EventType.DISPUTE_OPENED, minutes=60, dispute_id="dp_1")
    lost = make_event(payment_id, EventType.DISPUTE_LOST, minutes=120, dispute_id="dp_1")
    # Out of order on arrival: the payment's status still follows occurrence time.
    for event in (succeeded, lost, disputed):
        store.record_event(event)
    rows = store.payment_events(payment_id)
    assert [row.event_type for row in rows] == ["payment.succeeded", "dispute.opened", "dispute.lost"]
    assert [row.occurred_at.hour for row in rows] == [12, 13, 14]
    payment = store.payment(payment_id)
    assert payment is not None
    assert payment.status == "charged_back"
    assert payment.amount_minor == 2500


def test_the_first_decision_of_an_event_wins(store: PaymentsStore) -> None:
    payment_id = new_payment_id()
    event = make_event(payment_id)
    store.record_event(event)
    first = _decision(payment_id, event.event_id, Decision.APPROVE, 0.1)
    assert store.record_decision(first) == first
    # A re-run that somehow decided otherwise gets the stored decision back, not a second row.
    again = store.record_decision(_decision(payment_id, event.event_id, Decision.DECLINE, 0.9))
    assert again.decision is Decision.APPROVE
    assert again.fraud_score == 0.1
    rows = store.payment_decisions(payment_id)
    assert [(row.decision, row.fraud_score, row.rules_triggered) for row in rows] == [("approve", 0.1, "foreign_ip")]
    payment = store.payment(payment_id)
    assert payment is not None
    assert (payment.decision, payment.fraud_score) == ("approve", 0.1)


def test_a_losing_decision_gets_back_every_stored_field_of_the_first(store: PaymentsStore) -> None:
    payment_id = new_payment_id()
    event = make_event(payment_id)
    store.record_event(event)
    first = _decision(payment_id, event.event_id, Decision.APPROVE, 0.1).model_copy(
        update={"churn_score": 0.2, "churn_model_version": "churn-v1", "reviewed_by": "analyst_1"}
    )
    store.record_decision(first)
    # The re-run differs in every field the row keeps, and came later.
    later = _decision(payment_id, event.event_id, Decision.DECLINE, 0.9).model_copy(
        update={
            "fraud_model_version": "xgb-7",
            "churn_score": 0.8,
            "churn_model_version": "churn-v2",
            "rules_triggered": ("velocity", "foreign_ip"),
            "reviewed_by": None,
            "decided_at": datetime(2026, 1, 2, tzinfo=UTC),
        }
    )
    assert store.record_decision(later) == first


def test_a_dead_letter_is_opened_once_and_resolved(store: PaymentsStore) -> None:
    letter = make_dead_letter()
    assert store.record_dead_letter(letter) is True
    assert store.record_dead_letter(letter) is False
    row = store.dead_letter(str(letter.dlq_id))
    assert row is not None
    assert (row.status, row.reasons, row.source_offset) == ("open", "data.object.amount:missing", 7)
    store.resolve_dead_letter(
        str(letter.dlq_id), "discarded", "analyst_1", "duplicate", datetime(2026, 5, 2, tzinfo=UTC)
    )
    row = store.dead_letter(str(letter.dlq_id))
    assert row is not None
    assert (row.status, row.resolved_by, row.resolution_note) == ("discarded", "analyst_1", "duplicate")


def test_the_schema_can_be_applied_twice(store: PaymentsStore) -> None:
    store.create_schema()
    assert store.payment("stripe:none") is None


def test_an_undecided_event_keeps_its_first_reason_once(store: PaymentsStore) -> None:
    payment_id = new_payment_id()
    event = make_event(payment_id, customer_id=None)
    store.record_event(event)
    at = datetime(2026, 5, 1, 12, 0, 1, tzinfo=UTC)
    assert store.record_undecided(str(event.event_id), payment_id, "MissingLookupKeys", "no customer", at) is True
    # The activity retried after a crash (or a different reason on a re-run): still one row, the first.
    assert store.record_undecided(str(event.event_id), payment_id, "InferenceRejected", "422", at) is False
    rows = store.undecided_events(payment_id)
    assert [(r.event_id, r.reason_type, r.reason, r.undecided_at) for r in rows] == [
        (str(event.event_id), "MissingLookupKeys", "no customer", at)
    ]
    assert store.payment_decisions(payment_id) == []
