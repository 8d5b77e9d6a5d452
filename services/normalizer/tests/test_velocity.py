"""The velocity computation on hand-worked attempts: window edges, one count per payment, trimming."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contracts.reference.providers import Provider
from contracts.schemas.normalized_event import CardInfo, EventType, NormalizedEvent, PaymentStatus
from normalizer.velocity import Mark, UnusableEventError, epoch_us, features_as_of, marks_for, record_for, remember

T0 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
KEEP = timedelta(hours=25)


def _mark(payment: str, at: datetime, usd: str, entity: str = "customer") -> Mark:
    return Mark(entity, "cus_1", uuid.uuid4(), payment, epoch_us(at), Decimal(usd))  # type: ignore[arg-type]


def _event(event_type: EventType, amount_minor: int, currency: str, **extra: object) -> bytes:
    event = NormalizedEvent(
        event_id=uuid.uuid4(),
        provider=Provider.STRIPE,
        provider_event_id="evt_1",
        event_type=event_type,
        payment_id="stripe:pi_1",
        status=PaymentStatus.SUCCEEDED,
        amount_minor=amount_minor,
        currency=currency,
        occurred_at=T0,
        merchant_id="mer_1",
        **extra,
    )
    return event.model_dump_json().encode()


def test_windows_hold_t_minus_w_and_exclude_t() -> None:
    attempts = None
    for mark in [
        _mark("p1", T0, "10"),
        _mark("p2", T0 + timedelta(minutes=10), "21.60"),
        _mark("p3", T0 + timedelta(hours=1, minutes=10), "1.27"),
    ]:
        attempts = remember(attempts, mark, KEEP)
    assert attempts is not None
    # As of 11:10: 1 h is [10:10, 11:10): p2 (at the edge) in, p1 out, p3 (at t) out.
    as_of = epoch_us(T0 + timedelta(hours=1, minutes=10))
    assert features_as_of(attempts, "customer", as_of) == {
        "customer_txn_count_1h": 1.0,
        "customer_txn_count_24h": 2.0,
        "customer_amount_usd_24h": 31.6,
    }
    # As of the next day 10:10: 24 h is [10:10, 10:10): p2 in at the edge, p1 out.
    next_day = epoch_us(T0 + timedelta(hours=24, minutes=10))
    assert features_as_of(attempts, "customer", next_day) == {
        "customer_txn_count_1h": 0.0,
        "customer_txn_count_24h": 2.0,
        "customer_amount_usd_24h": 22.87,
    }
    assert features_as_of(attempts, "card", as_of) == {"card_txn_count_1h": 1.0}


def test_a_payment_counts_once_at_its_earliest_event() -> None:
    first = _mark("p1", T0 + timedelta(minutes=5), "10")
    captured = _mark("p1", T0 + timedelta(minutes=30), "10")
    earlier = _mark("p1", T0, "10")  # an earlier event of the payment, arriving last
    attempts = remember(remember(remember(None, first, KEEP), captured, KEEP), first, KEEP)
    assert attempts == {"p1": [epoch_us(T0 + timedelta(minutes=5)), "10"]}
    assert remember(attempts, earlier, KEEP) == {"p1": [epoch_us(T0), "10"]}


def test_attempts_older_than_keep_behind_the_newest_are_trimmed() -> None:
    attempts = remember(None, _mark("old", T0, "1"), KEEP)
    attempts = remember(attempts, _mark("edge", T0 + timedelta(hours=1), "1"), KEEP)
    attempts = remember(attempts, _mark("new", T0 + timedelta(hours=26), "1"), KEEP)
    assert sorted(attempts) == ["edge", "new"]  # 26 h - 25 h = 1 h: "edge" is exactly at the horizon


def test_record_is_as_of_the_event_time() -> None:
    mark = _mark("p1", T0, "10", entity="card")
    record = record_for(remember(None, mark, KEEP), mark)
    assert record.as_of == T0
    assert record.key() == "card:cus_1"
    assert record.values() == {"card_txn_count_1h": 0.0}


def test_marks_per_entity_only_for_payment_events() -> None:
    card = CardInfo(fingerprint="fp_1")
    marks = marks_for(_event(EventType.PAYMENT_FAILED, 2000, "EUR", customer_id="cus_1", card=card))
    assert [(m.entity, m.entity_id, m.amount_usd) for m in marks] == [
        ("customer", "cus_1", Decimal("21.60")),
        ("card", "fp_1", Decimal("21.60")),
    ]
    assert [m.entity for m in marks_for(_event(EventType.PAYMENT_CAPTURED, 100, "USD", card=card))] == ["card"]
    assert marks_for(_event(EventType.REFUND_SUCCEEDED, 100, "USD", customer_id="cus_1", card=card)) == []
    assert Mark.loads(marks[0].dumps()) == marks[0]


@pytest.mark.parametrize(
    ("value", "field"),
    [(b"{not json", "$"), (_event(EventType.PAYMENT_SUCCEEDED, 100, "XAF", customer_id="c"), "currency")],
)
def test_unusable_events_say_why(value: bytes, field: str) -> None:
    with pytest.raises(UnusableEventError) as caught:
        marks_for(value)
    assert caught.value.reasons[0].field == field
    json.dumps([r.model_dump() for r in caught.value.reasons])


_ATTEMPT = st.tuples(
    st.sampled_from([f"p{n}" for n in range(8)]),
    st.integers(min_value=0, max_value=30 * 3600).map(lambda s: s - s % 600),  # on a 10-minute grid: edges hit
    st.decimals(min_value=0, max_value=1000, places=2),
)


@given(
    attempts=st.lists(_ATTEMPT, max_size=25),
    as_of=st.integers(min_value=0, max_value=31 * 3600).map(lambda s: s - s % 600),
)
def test_features_equal_a_brute_force_recount_in_any_arrival_order(
    attempts: list[tuple[str, int, Decimal]], as_of: int
) -> None:
    state = None
    for payment, seconds, usd in attempts:
        state = remember(state, Mark("customer", "c", uuid.uuid4(), payment, seconds * 10**6, usd), timedelta(days=3))
    # Independently: each payment at its earliest time (its amount then), counted in [t - w, t).
    earliest: dict[str, tuple[int, Decimal]] = {}
    for payment, seconds, usd in attempts:
        if payment not in earliest or seconds < earliest[payment][0]:
            earliest[payment] = (seconds, usd)
    hour = [usd for seconds, usd in earliest.values() if as_of - 3600 <= seconds < as_of]
    day = [usd for seconds, usd in earliest.values() if as_of - 86400 <= seconds < as_of]
    assert features_as_of(state or {}, "customer", as_of * 10**6) == {
        "customer_txn_count_1h": float(len(hour)),
        "customer_txn_count_24h": float(len(day)),
        "customer_amount_usd_24h": float(sum(day, Decimal(0))),
    }
