"""Velocity features on the real broker: a hand-worked sequence of payments of one customer over
three cards and three merchants, with declines, a redelivery, a later event of one payment, a
refund, edges of the 1 h, 24 h and 7 d windows, and a SIGKILL and restart in the middle (the table
comes back from its changelog: the offsets were committed before the kill)."""

from __future__ import annotations

import asyncio
import json
import signal
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition  # type: ignore[import-untyped]

from contracts.reference.providers import Provider
from contracts.schemas.normalized_event import CardInfo, EventType, NormalizedEvent, PaymentStatus
from contracts.schemas.velocity import VelocityFeatures
from contracts.topics import NORMALIZED, VELOCITY, Topic
from integration.conftest import StartWorker
from integration.streams import _read_all, dead_letters
from normalizer.app import VELOCITY_PARTITIONS
from normalizer.velocity import entity_partition
from testing.kafka import KafkaServer

T0 = datetime.now(UTC).replace(hour=10, minute=0, second=0, microsecond=0) - timedelta(days=3)
"""Day 0, 10:00, three days back: every event of the hand-worked sequence (day -7 to day 1) lies in
the past, as a stream's events do. (A fixed date would be in the future on a host whose clock is
behind it, and an event dated ahead of the clock moves the sweep watermark only to the clock plus
`NORMALIZER_VELOCITY_FUTURE_TOLERANCE_SECONDS`.)"""


def minutes(n: int) -> timedelta:
    return timedelta(minutes=n)


def _event(
    tag: str,
    name: str,
    payment: str,
    event_type: EventType,
    at: timedelta,
    minor: int,
    currency: str,
    merchant: str = "mer_v",
    card: str = "fp",
    customer: str = "cus",
) -> NormalizedEvent:
    return NormalizedEvent(
        event_id=uuid.uuid5(uuid.NAMESPACE_URL, f"{tag}:{name}"),
        provider=Provider.STRIPE,
        provider_event_id=f"{tag}-{name}",
        event_type=event_type,
        payment_id=f"stripe:{tag}-{payment}",
        status=PaymentStatus.SUCCEEDED,
        amount_minor=minor,
        currency=currency,
        occurred_at=T0 + at,
        merchant_id=merchant,
        customer_id=f"{customer}-{tag}",
        card=CardInfo(fingerprint=f"{card}-{tag}"),
    )


async def _produce(bootstrap: str, events: list[NormalizedEvent]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for event in events:  # one partition: the worker sees them in this order
            await producer.send_and_wait(
                NORMALIZED.name, event.model_dump_json().encode(), key=event.payment_id.encode(), partition=0
            )
    finally:
        await producer.stop()


def _records(
    bootstrap: str, tag: str, wanted: int, timeout_seconds: float = 120
) -> dict[tuple[str, str], VelocityFeatures]:
    """(event name, entity) -> record, once `wanted` distinct ones are on the topic (a replay
    repeats a record; it must repeat it identically)."""
    deadline = time.monotonic() + timeout_seconds
    while True:
        found: dict[tuple[str, str], VelocityFeatures] = {}
        for message in asyncio.run(_read_all(bootstrap, VELOCITY)):
            record = VelocityFeatures.model_validate_json(message.value)
            if not record.entity_id.endswith(tag):
                continue
            assert message.key == record.key().encode()
            name = str(record.event_id)
            assert found.setdefault((name, record.entity), record) == record
        if len(found) >= wanted or time.monotonic() > deadline:
            return found
        time.sleep(0.5)  # polling interval of the output topic


async def _committed_to_end(
    bootstrap: str, group: str, partitions: list[TopicPartition], timeout_seconds: float
) -> None:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        ends = await consumer.end_offsets(partitions)
        deadline = time.monotonic() + timeout_seconds
        while True:
            behind = {tp: end for tp, end in ends.items() if end and ((await consumer.committed(tp)) or 0) < end}
            if not behind:
                return
            assert time.monotonic() < deadline, f"{group} has not committed up to {behind}"
            await asyncio.sleep(0.2)  # polling interval of the committed offsets
    finally:
        await consumer.stop()


def _last_changelog_values(bootstrap: str, topic: str, timeout_seconds: float, gone: str) -> dict[str, bytes | None]:
    """Key -> its last value on the table's changelog, once `gone`'s last value is a tombstone."""
    changelog = Topic(topic, "entity", VelocityFeatures, VELOCITY_PARTITIONS)  # (the value type is not read)
    deadline = time.monotonic() + timeout_seconds
    while True:
        last: dict[str, bytes | None] = {}
        for message in asyncio.run(_read_all(bootstrap, changelog)):
            last[json.loads(message.key)] = message.value
        if (gone in last and last[gone] is None) or time.monotonic() > deadline:
            return last
        time.sleep(0.5)  # polling interval of the changelog


@contextmanager
def _worker_logs_on_failure(tmp_path: Path) -> Iterator[None]:
    """Print the end of every worker's log when an assertion fails: their own words, for the report."""
    try:
        yield
    except AssertionError:
        for log in sorted(tmp_path.glob("worker-*.log")):
            print(f"--- {log.name}", *log.read_text(errors="replace").splitlines()[-60:], sep="\n")
        raise


def test_velocity_features_match_the_hand_worked_windows_across_a_restart(
    broker: KafkaServer, group: str, start_worker: StartWorker, tmp_path: Path
) -> None:
    with _worker_logs_on_failure(tmp_path):
        _hand_worked_windows_across_a_restart(broker, group, start_worker)


def _hand_worked_windows_across_a_restart(broker: KafkaServer, group: str, start_worker: StartWorker) -> None:
    tag = uuid.uuid4().hex[:10]
    bootstrap = broker.bootstrap_servers
    week, day = timedelta(days=7), timedelta(days=1)
    s = EventType.PAYMENT_SUCCEEDED
    # A week before: two payments on other cards, 1 minute apart around the 7-day edge of e1.
    c00 = _event(tag, "c00", "p00", s, -week - minutes(1), 100, "USD", card="fp3")  # 1.00 USD
    c0 = _event(tag, "c0", "p0", s, -week, 200, "USD", card="fp2")  # 2.00 USD
    e1 = _event(tag, "e1", "p1", s, minutes(0), 1000, "USD")  # 10.00 USD
    e2 = _event(tag, "e2", "p2", EventType.PAYMENT_AUTHORIZED, minutes(10), 2000, "EUR", merchant="mer_b")  # 21.60
    e3 = _event(tag, "e3", "p3", EventType.PAYMENT_FAILED, minutes(70), 100, "GBP")  # 1.27 USD, a decline
    refund = _event(tag, "r1", "p1", EventType.REFUND_SUCCEEDED, minutes(80), 1000, "USD")  # not an attempt
    # p2 declined later: a decline at 11:30; its attempt stays at 10:10 (counted once).
    e2f = _event(tag, "e2f", "p2", EventType.PAYMENT_FAILED, minutes(90), 2000, "EUR", merchant="mer_b")
    e4 = _event(tag, "e4", "p4", s, minutes(130), 5000, "JPY", merchant="mer_c")  # 5000 JPY = 33.00 USD
    e5 = _event(tag, "e5", "p5", s, day + minutes(10), 100, "USD")
    e6 = _event(tag, "e6", "p6", EventType.PAYMENT_FAILED, day + minutes(70), 100, "USD")  # 24 h after e3
    e7 = _event(tag, "e7", "p7", s, day + minutes(91), 100, "USD", merchant="mer_b", card="fp2")
    e8 = _event(tag, "e8", "p8", s, day + minutes(100), 100, "USD")
    # Another customer, on a card whose partition is fp3's: it moves that partition's watermark
    # past fp3's only attempt (a week back) + 25 h, so the sweep drops fp3 (a tombstone).
    partition = entity_partition(f"card:fp3-{tag}", VELOCITY_PARTITIONS)
    other_card = next(
        f"fpx{n}" for n in range(1000) if entity_partition(f"card:fpx{n}-{tag}", VELOCITY_PARTITIONS) == partition
    )
    x1 = _event(tag, "x1", "px1", s, day + minutes(200), 100, "USD", card=other_card, customer="cus2")

    sweep = {"NORMALIZER_VELOCITY_SWEEP_SECONDS": "0.5"}
    worker = start_worker(**sweep)
    # e2 twice: a redelivery, same event id.
    asyncio.run(_produce(bootstrap, [c00, c0, e1, e2, e3, e2, refund, e2f]))
    before = _records(bootstrap, tag, wanted=12)
    internal = [TopicPartition(f"{group}-velocity-entities", p) for p in range(VELOCITY_PARTITIONS)]
    normalized = [TopicPartition(NORMALIZED.name, p) for p in range(NORMALIZED.partitions)]
    asyncio.run(_committed_to_end(bootstrap, group, normalized + internal, timeout_seconds=120))
    worker.process.send_signal(signal.SIGKILL)
    worker.process.wait()

    start_worker(**sweep)
    asyncio.run(_produce(bootstrap, [e4, e5, e6, e7, e8, x1]))
    records = _records(bootstrap, tag, wanted=24)

    def customer(n1h: float, n24h: float, usd24h: float, cards7d: float) -> dict[str, float]:
        return {
            "customer_txn_count_1h": n1h,
            "customer_txn_count_24h": n24h,
            "customer_amount_usd_24h": usd24h,
            "customer_distinct_cards_7d": cards7d,
        }

    def card(n1h: float, merchants24h: float, declines24h: float) -> dict[str, float]:
        return {
            "card_txn_count_1h": n1h,
            "card_distinct_merchants_24h": merchants24h,
            "card_decline_count_24h": declines24h,
        }

    # Worked by hand: windows [t - w, t); a payment counts once, at its first event (its merchant
    # and card then); a decline counts at its payment.failed event. Day 0 10:00 is e1.
    expected_customer = {
        c00: customer(0, 0, 0, 0),
        c0: customer(1, 1, 1.0, 1),  # 1 h before c0: c00 (fp3)
        e1: customer(0, 0, 0, 1),  # 7 d = [T0 - 7 d, T0): c0 (fp2) at the edge in, c00 out
        e2: customer(1, 1, 10.0, 1),  # e1 (10:00) in [9:10, 10:10); 7 d from day -7 10:10: c0 out
        e3: customer(1, 2, 31.6, 1),  # 1 h = [10:10, 11:10): e2 at the edge in, e1 out
        e2f: customer(1, 3, 32.87, 1),  # 1 h = [10:30, 11:30): e3; p2 counted once
        e4: customer(1, 3, 32.87, 1),  # [11:10, 12:10): e3 at the edge; 24 h: e1 + e2 + e3, from before the restart
        e5: customer(0, 3, 55.87, 1),  # day 1 10:10: 24 h from 10:10: e2 (edge), e3, e4 = 21.60 + 1.27 + 33.00
        e6: customer(1, 3, 35.27, 1),  # 1 h: e5 at the edge; 24 h from 11:10: e3 (edge), e4, e5
        e7: customer(1, 3, 35.0, 1),  # 1 h from day 1 10:31: e6; 24 h from 11:31: e4, e5, e6
        e8: customer(2, 4, 36.0, 2),  # 1 h from day 1 10:40: e6, e7; 24 h: e4..e7; cards fp and fp2
        x1: customer(0, 0, 0, 0),  # cus2: nothing before
    }
    expected_card = {
        c00: card(0, 0, 0),  # fp3
        c0: card(0, 0, 0),  # fp2
        e1: card(0, 0, 0),
        e2: card(1, 1, 0),  # e1 at mer_v
        e3: card(1, 2, 0),  # e2 (edge) at mer_b, e1 at mer_v; e3's own decline is at t: out
        e2f: card(1, 2, 1),  # decline e3 (11:10) in; e2f's own out
        e4: card(1, 2, 2),  # e3 at the 1 h edge; declines e3 and e2f, from before the restart
        e5: card(0, 3, 2),  # 24 h from 10:10: e2 (mer_b, edge), e3 (mer_v), e4 (mer_c); declines e3, e2f
        e6: card(1, 2, 2),  # e5 at the 1 h edge; 24 h from 11:10: e3 (edge), e4, e5; declines e3 (edge), e2f
        e7: card(0, 0, 0),  # fp2: c0 is 8 days back
        e8: card(1, 2, 1),  # 1 h from day 1 10:40: e6; 24 h from 11:40: e4 (mer_c), e5, e6 (mer_v); decline e6
        x1: card(0, 0, 0),
    }
    assert {(str(e.event_id), "customer"): v for e, v in expected_customer.items()} == {
        key: r.values() for key, r in records.items() if key[1] == "customer"
    }
    assert {(str(e.event_id), "card"): v for e, v in expected_card.items()} == {
        key: r.values() for key, r in records.items() if key[1] == "card"
    }
    assert all(
        r.as_of == next(e for e in expected_card if str(e.event_id) == key[0]).occurred_at for key, r in records.items()
    )
    assert {r.entity_id for r in records.values()} == {
        f"{name}-{tag}" for name in ("cus", "cus2", "fp", "fp2", "fp3", other_card)
    }
    assert {r.entity_id for key, r in records.items() if key[0] == str(e7.event_id)} == {f"cus-{tag}", f"fp2-{tag}"}
    assert before == {key: r for key, r in records.items() if key in before}
    # Bounded state: fp3 was swept out of the table and its changelog (a tombstone is its last
    # record); the card and customer of the newest payments are still there.
    last = _last_changelog_values(bootstrap, f"{group}-velocity-changelog", timeout_seconds=60, gone=f"card:fp3-{tag}")
    assert last[f"card:fp3-{tag}"] is None
    assert last[f"card:fp-{tag}"] is not None and last[f"customer:cus-{tag}"] is not None


def test_a_payment_dated_far_ahead_is_dead_lettered_and_harms_no_entity(
    broker: KafkaServer, group: str, start_worker: StartWorker, tmp_path: Path
) -> None:
    with _worker_logs_on_failure(tmp_path):
        _far_future_event(broker, group, start_worker)


def _far_future_event(broker: KafkaServer, group: str, start_worker: StartWorker) -> None:
    tag = uuid.uuid4().hex[:10]
    bootstrap = broker.bootstrap_servers
    now = datetime.now(UTC).replace(microsecond=0)
    s = EventType.PAYMENT_SUCCEEDED
    # A customer with one of its cards, and another customer with payments before and after one
    # dated in 2100 (a bad year from a provider), all in one partition of the internal topic.
    partition = entity_partition(f"customer:cus-{tag}", VELOCITY_PARTITIONS)

    def same_partition(entity: str, prefix: str) -> str:
        return next(
            f"{prefix}{n}"
            for n in range(1000)
            if entity_partition(f"{entity}:{prefix}{n}-{tag}", VELOCITY_PARTITIONS) == partition
        )

    card_a, far_customer = same_partition("card", "fpa"), same_partition("customer", "cusf")
    a1 = _event(tag, "a1", "pa1", s, now - timedelta(hours=26) - T0, 100, "USD", card=card_a)
    f1 = _event(tag, "f1", "pf1", s, now - minutes(90) - T0, 100, "USD", card="fpf", customer=far_customer)
    far = _event(
        tag, "f", "pf", s, datetime(2100, 1, 1, tzinfo=UTC) - T0, 100, "USD", card="fpf", customer=far_customer
    )
    f2 = _event(tag, "f2", "pf2", s, now - minutes(30) - T0, 100, "USD", card="fpf", customer=far_customer)
    b1 = _event(tag, "b1", "pb1", s, now - timedelta(hours=25) - T0, 100, "USD", card="fpb")

    start_worker(NORMALIZER_VELOCITY_SWEEP_SECONDS="0.5")
    asyncio.run(_produce(bootstrap, [a1, f1, far, f2]))
    # The far payment is dead-lettered by the fan-out and never enters a state: the partition's
    # watermark is f2's time (30 min ago), so a sweep drops card_a (26 h ago: past its 24 h + 1 h)
    # and keeps both customers (7 d + 1 h). Had the far payment moved the watermark to 2100, the
    # sweep would drop both customers; had it entered far_customer's state, f2 would count nothing.
    changelog = f"{group}-velocity-changelog"
    last = _last_changelog_values(bootstrap, changelog, timeout_seconds=120, gone=f"card:{card_a}-{tag}")
    assert last[f"card:{card_a}-{tag}"] is None
    assert last[f"customer:cus-{tag}"] is not None
    assert last[f"customer:{far_customer}-{tag}"] is not None

    asyncio.run(_produce(bootstrap, [b1]))
    records = _records(bootstrap, tag, wanted=8)
    # b1, 25 h ago: a1 (26 h ago, on card_a) at the edge of its 1 h window and inside 24 h and 7 d.
    assert records[(str(b1.event_id), "customer")].values() == {
        "customer_txn_count_1h": 1.0,
        "customer_txn_count_24h": 1.0,
        "customer_amount_usd_24h": 1.0,
        "customer_distinct_cards_7d": 1.0,
    }
    # f2, after the far payment: f1 (1 h before it, USD 1.00, card fpf) counts, the far one does not.
    assert records[(str(f2.event_id), "customer")].values() == {
        "customer_txn_count_1h": 1.0,
        "customer_txn_count_24h": 1.0,
        "customer_amount_usd_24h": 1.0,
        "customer_distinct_cards_7d": 1.0,
    }
    assert records[(str(f2.event_id), "card")].values() == {
        "card_txn_count_1h": 1.0,
        "card_distinct_merchants_24h": 1.0,
        "card_decline_count_24h": 0.0,
    }
    assert not [key for key in records if key[0] == str(far.event_id)]
    letters = [letter for letter in dead_letters(bootstrap) if letter.key == far.payment_id]
    assert [(r.field, r.code) for letter in letters for r in letter.reasons] == [
        ("occurred_at", "occurred_at_in_future")
    ]
    assert {letter.worker for letter in letters} == {f"{group}-velocity"}
