"""The velocity computation on hand-worked attempts and declines: window edges, one count per payment,
distinct merchants and cards, declines per event, trimming; and against a brute-force recount."""

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
from contracts.schemas.velocity import VelocityEntity
from normalizer.velocity import (
    Mark,
    UnusableEventError,
    entity_partition,
    epoch_us,
    expired,
    features_as_of,
    keep_for,
    marks_for,
    record_for,
    remember,
    remember_in_place,
    watermark_after,
)

T0 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
KEEP = timedelta(hours=25)


def _mark(
    payment: str,
    at: datetime,
    usd: str,
    entity: str = "customer",
    merchant: str = "mer_1",
    card: str | None = "fp_1",
    declined: bool = False,
    event_id: uuid.UUID | None = None,
) -> Mark:
    return Mark(
        entity,  # type: ignore[arg-type]
        "cus_1",
        event_id or uuid.uuid4(),
        payment,
        epoch_us(at),
        Decimal(usd),
        merchant,
        card,
        declined,
    )


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


def _remember_all(marks: list[Mark], keep: timedelta = KEEP) -> dict[str, object]:
    state = None
    for mark in marks:
        state = remember(state, mark, keep)
    assert state is not None
    return state


def test_windows_hold_t_minus_w_and_exclude_t() -> None:
    state = _remember_all(
        [
            _mark("p1", T0, "10", card="fp_1"),
            _mark("p2", T0 + timedelta(minutes=10), "21.60", card="fp_2"),
            _mark("p3", T0 + timedelta(hours=1, minutes=10), "1.27", card="fp_3"),
        ],
        keep=timedelta(days=8),
    )
    # As of 11:10: 1 h is [10:10, 11:10): p2 (at the edge) in, p1 out, p3 (at t) out.
    as_of = epoch_us(T0 + timedelta(hours=1, minutes=10))
    assert features_as_of(state, "customer", as_of) == {
        "customer_txn_count_1h": 1.0,
        "customer_txn_count_24h": 2.0,
        "customer_amount_usd_24h": 31.6,
        "customer_distinct_cards_7d": 2.0,  # fp_1, fp_2; fp_3 is p3's, at t
    }
    # As of the next day 10:10: 24 h is [10:10, 10:10): p2 in at the edge, p1 out.
    next_day = epoch_us(T0 + timedelta(hours=24, minutes=10))
    assert features_as_of(state, "customer", next_day) == {
        "customer_txn_count_1h": 0.0,
        "customer_txn_count_24h": 2.0,
        "customer_amount_usd_24h": 22.87,
        "customer_distinct_cards_7d": 3.0,
    }
    # 7 days after p1: [10:00, 10:00 + 7 d): p1 at the edge in; 1 microsecond later it is out.
    week = T0 + timedelta(days=7)
    assert features_as_of(state, "customer", epoch_us(week))["customer_distinct_cards_7d"] == 3.0
    assert features_as_of(state, "customer", epoch_us(week) + 1)["customer_distinct_cards_7d"] == 2.0


def test_card_merchants_and_declines_over_24_hours() -> None:
    failed_at = T0 + timedelta(minutes=30)
    decline = uuid.uuid4()
    marks = [
        _mark("p1", T0, "10", entity="card", merchant="mer_a"),
        _mark("p2", T0 + timedelta(minutes=10), "5", entity="card", merchant="mer_b"),
        # p2 declined at 10:30 (its attempt stays at 10:10, at mer_b), delivered twice.
        _mark("p2", failed_at, "5", entity="card", merchant="mer_b", declined=True, event_id=decline),
        _mark("p2", failed_at, "5", entity="card", merchant="mer_b", declined=True, event_id=decline),
        _mark("p3", T0 + timedelta(minutes=40), "5", entity="card", merchant="mer_a"),
    ]
    state = _remember_all(marks)
    assert state["declines"] == {str(decline): epoch_us(failed_at)}
    # As of 10:30: [t - 24 h, 10:30): p1 (mer_a), p2 (mer_b); the decline at t is out.
    assert features_as_of(state, "card", epoch_us(failed_at)) == {
        "card_txn_count_1h": 2.0,
        "card_distinct_merchants_24h": 2.0,
        "card_decline_count_24h": 0.0,
    }
    # As of the next day 10:30: [10:30, next 10:30): the decline at the edge in; p1, p2 out; p3 (mer_a) in.
    next_day = epoch_us(failed_at + timedelta(hours=24))
    assert features_as_of(state, "card", next_day) == {
        "card_txn_count_1h": 0.0,
        "card_distinct_merchants_24h": 1.0,
        "card_decline_count_24h": 1.0,
    }
    assert features_as_of(state, "card", next_day + 1)["card_decline_count_24h"] == 0.0


def test_a_customer_keeps_no_declines() -> None:
    state = remember(None, _mark("p1", T0, "1", declined=True), KEEP)
    assert state["declines"] == {}


def test_a_payment_counts_once_at_its_earliest_event() -> None:
    first = _mark("p1", T0 + timedelta(minutes=5), "10", merchant="mer_first")
    captured = _mark("p1", T0 + timedelta(minutes=30), "10", merchant="mer_later")
    earlier = _mark("p1", T0, "10", merchant="mer_earliest", card="fp_0")  # an earlier event, arriving last
    state = remember(remember(remember(None, first, KEEP), captured, KEEP), first, KEEP)
    assert state["attempts"] == {"p1": [epoch_us(T0 + timedelta(minutes=5)), "10", "mer_first", "fp_1"]}
    assert remember(state, earlier, KEEP)["attempts"] == {"p1": [epoch_us(T0), "10", "mer_earliest", "fp_0"]}


def test_attempts_and_declines_older_than_keep_behind_the_newest_are_trimmed() -> None:
    state = _remember_all(
        [
            _mark("old", T0, "1", entity="card", declined=True),
            _mark("edge", T0 + timedelta(hours=1), "1", entity="card"),
            _mark("new", T0 + timedelta(hours=26), "1", entity="card"),
        ]
    )
    assert sorted(state["attempts"]) == ["edge", "new"]  # type: ignore[call-overload]  # 26 h - 25 h: "edge" at the horizon
    assert state["declines"] == {}


def test_each_entity_keeps_its_longest_window_plus_the_lateness() -> None:
    lateness = timedelta(hours=1)
    assert keep_for("customer", lateness) == timedelta(days=7, hours=1)
    assert keep_for("card", lateness) == timedelta(hours=25)


def test_entities_expire_once_everything_fell_out_of_their_windows_at_their_partitions_watermark() -> None:
    keep: dict[VelocityEntity, timedelta] = {
        "customer": keep_for("customer", timedelta(hours=1)),
        "card": keep_for("card", timedelta(hours=1)),
    }
    at = epoch_us(T0)
    card_state = remember(None, _mark("p1", T0, "1", entity="card"), keep["card"])
    customer_state = remember(None, _mark("p1", T0, "1"), keep["customer"])
    states = [("card:fp_1", card_state), ("customer:cus_1", customer_state)]
    card_partition, customer_partition = (entity_partition(key, 6) for key, _ in states)
    hour = 3600 * 10**6

    def gone(card_watermark: int, customer_watermark: int) -> list[str]:
        # A partition both keys share has one watermark: the newer of the two.
        marks: dict[int, int] = {}
        for partition, mark in ((card_partition, card_watermark), (customer_partition, customer_watermark)):
            marks[partition] = max(mark, marks.get(partition, mark))
        return expired(states, marks, keep, 6)

    # The card keeps 24 h + 1 h: at exactly T0 + 25 h it is still there, a microsecond later it is gone.
    assert "card:fp_1" not in gone(at + 25 * hour, at)
    assert "card:fp_1" in gone(at + 25 * hour + 1, at)
    # The customer keeps 7 d + 1 h.
    assert "customer:cus_1" not in gone(at, at + (7 * 24 + 1) * hour)
    assert "customer:cus_1" in gone(at, at + (7 * 24 + 1) * hour + 1)
    # No watermark for a partition (nothing handled there yet): its entities stay.
    assert expired(states, {}, keep, 6) == []


# Kafka's own murmur2 vectors (UtilsTest.testMurmur2 in the Java client), as signed 32-bit values.
KAFKA_MURMUR2 = {
    "21": -973932308,
    "foobar": -790332482,
    "a-little-bit-long-string": -985981536,
    "a-little-bit-longer-string": -1486304829,
    "lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
    "abc": 479470107,
}


def test_entity_partition_is_kafkas_default_partitioner() -> None:
    # The Java client's partition for 6 partitions, (hash & 0x7fffffff) % 6, worked out from its vectors.
    assert {key: entity_partition(key, 6) for key in KAFKA_MURMUR2} == {
        "21": 0,
        "foobar": 0,
        "a-little-bit-long-string": 2,
        "a-little-bit-longer-string": 5,
        "lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": 5,
        "abc": 3,
    }
    assert all(0 <= entity_partition(f"card:fp_{n}", 6) < 6 for n in range(50))
    assert len({entity_partition(f"card:fp_{n}", 6) for n in range(50)}) == 6


def test_a_state_written_before_the_1_4_features_still_reads() -> None:
    legacy = {"p1": [epoch_us(T0), "10"]}
    as_of = epoch_us(T0 + timedelta(minutes=1))
    assert features_as_of(legacy, "card", as_of) == {
        "card_txn_count_1h": 1.0,
        "card_distinct_merchants_24h": 0.0,  # merchants unknown for those attempts
        "card_decline_count_24h": 0.0,
    }
    state = remember(legacy, _mark("p2", T0 + timedelta(minutes=2), "1", entity="card"), KEEP)
    assert state["attempts"] == {
        "p1": [epoch_us(T0), "10", None, None],
        "p2": [epoch_us(T0 + timedelta(minutes=2)), "1", "mer_1", "fp_1"],
    }


def test_record_is_as_of_the_event_time() -> None:
    mark = _mark("p1", T0, "10", entity="card")
    record = record_for(remember(None, mark, KEEP), mark)
    assert record.as_of == T0
    assert record.key() == "card:cus_1"
    assert record.values() == {
        "card_txn_count_1h": 0.0,
        "card_distinct_merchants_24h": 0.0,
        "card_decline_count_24h": 0.0,
    }


def test_marks_per_entity_only_for_payment_events() -> None:
    card = CardInfo(fingerprint="fp_1")
    marks = marks_for(_event(EventType.PAYMENT_FAILED, 2000, "EUR", customer_id="cus_1", card=card))
    assert [(m.entity, m.entity_id, m.amount_usd, m.merchant_id, m.card, m.declined) for m in marks] == [
        ("customer", "cus_1", Decimal("21.60"), "mer_1", "fp_1", True),
        ("card", "fp_1", Decimal("21.60"), "mer_1", "fp_1", True),
    ]
    captured = marks_for(_event(EventType.PAYMENT_CAPTURED, 100, "USD", card=card))
    assert [(m.entity, m.declined) for m in captured] == [("card", False)]
    assert marks_for(_event(EventType.REFUND_SUCCEEDED, 100, "USD", customer_id="cus_1", card=card)) == []
    assert Mark.loads(marks[0].dumps()) == marks[0]
    # A mark of a worker before contracts 1.4.0, still on the internal topic at an upgrade.
    legacy = json.loads(marks[1].dumps())
    for name in ("merchant_id", "card", "declined"):
        del legacy[name]
    assert Mark.loads(json.dumps(legacy).encode()) == Mark(
        "card", "fp_1", marks[1].event_id, "stripe:pi_1", marks[1].at_us, Decimal("21.60")
    )


def test_a_payment_dated_past_the_ceiling_is_unusable_and_one_at_it_is_not() -> None:
    at = int((T0 - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds()) * 10**6  # T0 in epoch µs
    value = _event(EventType.PAYMENT_SUCCEEDED, 100, "USD", customer_id="cus_1")
    assert [m.at_us for m in marks_for(value, not_after_us=at)] == [at]
    with pytest.raises(UnusableEventError) as caught:
        marks_for(value, not_after_us=at - 1)
    assert [(r.field, r.code) for r in caught.value.reasons] == [("occurred_at", "occurred_at_in_future")]
    refund = _event(EventType.REFUND_SUCCEEDED, 100, "USD", customer_id="cus_1")
    assert marks_for(refund, not_after_us=at - 1) == []  # no marks, nothing to refuse


@pytest.mark.parametrize(
    ("value", "field"),
    [(b"{not json", "$"), (_event(EventType.PAYMENT_SUCCEEDED, 100, "XAF", customer_id="c"), "currency")],
)
def test_unusable_events_say_why(value: bytes, field: str) -> None:
    with pytest.raises(UnusableEventError) as caught:
        marks_for(value)
    assert caught.value.reasons[0].field == field
    json.dumps([r.model_dump() for r in caught.value.reasons])


_EVENT = st.tuples(
    st.sampled_from([f"p{n}" for n in range(8)]),
    st.integers(min_value=0, max_value=8 * 24 * 3600).map(lambda s: s - s % 600),  # a 10-minute grid: edges hit
    st.decimals(min_value=0, max_value=1000, places=2),
    st.sampled_from(["mer_a", "mer_b", "mer_c"]),
    st.sampled_from(["fp_1", "fp_2", "fp_3", None]),
    st.booleans(),  # a payment.failed event
)
_HOUR, _DAY, _WEEK = 3600, 24 * 3600, 7 * 24 * 3600


@given(
    events=st.lists(_EVENT, max_size=25),
    as_of=st.integers(min_value=0, max_value=8 * 24 * 3600).map(lambda s: s - s % 600),
    entity=st.sampled_from(["customer", "card"]),
)
def test_features_equal_a_brute_force_recount_in_any_arrival_order(
    events: list[tuple[str, int, Decimal, str, str | None, bool]], as_of: int, entity: VelocityEntity
) -> None:
    state: dict[str, object] | None = None
    ids = [uuid.uuid4() for _ in events]
    for event_id, (payment, seconds, usd, merchant, card, failed) in zip(ids, events, strict=True):
        mark = Mark(entity, "e", event_id, payment, seconds * 10**6, usd, merchant, card, failed)
        state = remember(state, mark, timedelta(days=9))
    # Independently: each payment once, at its earliest event (its amount, merchant, card then);
    # each failed event a decline at its time; everything counted in [t - w, t).
    earliest: dict[str, tuple[int, Decimal, str, str | None]] = {}
    for payment, seconds, usd, merchant, card, _ in events:
        if payment not in earliest or seconds < earliest[payment][0]:
            earliest[payment] = (seconds, usd, merchant, card)

    def attempts(window: int) -> list[tuple[int, Decimal, str, str | None]]:
        return [a for a in earliest.values() if as_of - window <= a[0] < as_of]

    declines = [seconds for _, seconds, _, _, _, failed in events if failed]
    expected = {
        "customer": {
            "customer_txn_count_1h": float(len(attempts(_HOUR))),
            "customer_txn_count_24h": float(len(attempts(_DAY))),
            "customer_amount_usd_24h": float(sum((a[1] for a in attempts(_DAY)), Decimal(0))),
            "customer_distinct_cards_7d": float(len({a[3] for a in attempts(_WEEK) if a[3] is not None})),
        },
        "card": {
            "card_txn_count_1h": float(len(attempts(_HOUR))),
            "card_distinct_merchants_24h": float(len({a[2] for a in attempts(_DAY)})),
            "card_decline_count_24h": float(sum(1 for at in declines if as_of - _DAY <= at < as_of)),
        },
    }[entity]
    assert features_as_of(state, entity, as_of * 10**6) == expected


@given(events=st.lists(_EVENT, max_size=25), entity=st.sampled_from(["customer", "card"]))
def test_the_agents_in_place_update_keeps_what_remember_keeps(
    events: list[tuple[str, int, Decimal, str, str | None, bool]], entity: VelocityEntity
) -> None:
    # The agent changes one state in place; `remember` leaves its input alone. Step by step, both
    # hold the same attempts and declines (and so the same features: the recount test above).
    keep = timedelta(hours=25)
    pure: dict[str, object] | None = None
    live: dict[str, object] | None = None
    for payment, seconds, usd, merchant, card, failed in events:
        mark = Mark(entity, "e", uuid.uuid4(), payment, seconds * 10**6, usd, merchant, card, failed)
        before = json.dumps(pure, sort_keys=True)
        following = remember(pure, mark, keep)
        assert json.dumps(pure, sort_keys=True) == before
        pure = following
        live = remember_in_place(live, mark, keep // timedelta(microseconds=1))
        assert live == pure


def test_a_legacy_state_is_converted_not_changed_in_place() -> None:
    legacy = {"p1": [epoch_us(T0), "10"]}
    state = remember_in_place(legacy, _mark("p2", T0 + timedelta(minutes=2), "1", entity="card"), 3600 * 10**6)
    assert legacy == {"p1": [epoch_us(T0), "10"]}
    assert state == {
        "attempts": {
            "p1": [epoch_us(T0), "10", None, None],
            "p2": [epoch_us(T0 + timedelta(minutes=2)), "1", "mer_1", "fp_1"],
        },
        "declines": {},
    }


def test_one_event_moves_the_watermark_at_most_to_the_ceiling() -> None:
    now = epoch_us(T0)
    ceiling = now + 300 * 10**6  # the wall clock plus a 5-minute tolerance
    year_2100 = epoch_us(datetime(2100, 1, 1, tzinfo=UTC))
    assert watermark_after(None, now - 10, ceiling) == now - 10  # the first event of a partition
    assert watermark_after(now - 10, now - 20, ceiling) == now - 10  # a late event: it stays
    assert watermark_after(now - 10, now + 60 * 10**6, ceiling) == now + 60 * 10**6  # within the tolerance
    assert watermark_after(now - 10, year_2100, ceiling) == ceiling
    assert watermark_after(None, year_2100, ceiling) == ceiling
    assert watermark_after(ceiling + 5, year_2100, ceiling) == ceiling + 5  # never backwards
    # What it protects: a customer active an hour ago survives a sweep after the far-future event.
    keep: dict[VelocityEntity, timedelta] = {"customer": keep_for("customer", timedelta(hours=1))}
    state = remember(None, _mark("p1", T0 - timedelta(hours=1), "1"), keep["customer"])
    partition = entity_partition("customer:cus_1", 6)
    watermark = watermark_after(now - 3600 * 10**6, year_2100, ceiling)
    assert expired([("customer:cus_1", state)], {partition: watermark}, keep, 6) == []
    assert expired([("customer:cus_1", state)], {partition: year_2100}, keep, 6) == ["customer:cus_1"]
