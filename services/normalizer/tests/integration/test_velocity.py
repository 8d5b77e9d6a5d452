"""Velocity features on the real broker: a hand-worked sequence of payments of one customer and
card, with a redelivery, a later event of one payment, a refund, and a SIGKILL and restart in the
middle (the table comes back from its changelog: the offsets were committed before the kill)."""

from __future__ import annotations

import asyncio
import signal
import time
import uuid
from datetime import UTC, datetime, timedelta

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition  # type: ignore[import-untyped]

from contracts.reference.providers import Provider
from contracts.schemas.normalized_event import CardInfo, EventType, NormalizedEvent, PaymentStatus
from contracts.schemas.velocity import VelocityFeatures
from contracts.topics import NORMALIZED, VELOCITY
from integration.conftest import StartWorker
from integration.streams import _read_all
from normalizer.app import VELOCITY_PARTITIONS
from testing.kafka import KafkaServer

T0 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def minutes(n: int) -> timedelta:
    return timedelta(minutes=n)


def _event(
    tag: str, name: str, payment: str, event_type: EventType, at: timedelta, minor: int, currency: str
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
        merchant_id="mer_v",
        customer_id=f"cus-{tag}",
        card=CardInfo(fingerprint=f"fp-{tag}"),
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


def test_velocity_features_match_the_hand_worked_windows_across_a_restart(
    broker: KafkaServer, group: str, start_worker: StartWorker
) -> None:
    tag = uuid.uuid4().hex[:10]
    bootstrap = broker.bootstrap_servers
    e1 = _event(tag, "e1", "p1", EventType.PAYMENT_SUCCEEDED, minutes(0), 1000, "USD")  # 10.00 USD
    e2 = _event(tag, "e2", "p2", EventType.PAYMENT_AUTHORIZED, minutes(10), 2000, "EUR")  # 20 EUR = 21.60 USD
    e3 = _event(tag, "e3", "p3", EventType.PAYMENT_FAILED, minutes(70), 100, "GBP")  # 1 GBP = 1.27 USD
    refund = _event(tag, "r1", "p1", EventType.REFUND_SUCCEEDED, minutes(80), 1000, "USD")  # not an attempt
    e2_captured = _event(tag, "e2c", "p2", EventType.PAYMENT_CAPTURED, minutes(90), 2000, "EUR")  # same payment
    e4 = _event(tag, "e4", "p4", EventType.PAYMENT_SUCCEEDED, minutes(130), 5000, "JPY")  # 5000 JPY = 33.00 USD
    e5 = _event(tag, "e5", "p5", EventType.PAYMENT_SUCCEEDED, timedelta(hours=24, minutes=10), 100, "USD")

    worker = start_worker()
    asyncio.run(_produce(bootstrap, [e1, e2, e3, e2, refund, e2_captured]))  # e2 twice: a redelivery, same event id
    before = _records(bootstrap, tag, wanted=8)
    internal = [TopicPartition(f"{group}-velocity-entities", p) for p in range(VELOCITY_PARTITIONS)]
    normalized = [TopicPartition(NORMALIZED.name, p) for p in range(NORMALIZED.partitions)]
    asyncio.run(_committed_to_end(bootstrap, group, normalized + internal, timeout_seconds=120))
    worker.process.send_signal(signal.SIGKILL)
    worker.process.wait()

    start_worker()
    asyncio.run(_produce(bootstrap, [e4, e5]))
    records = _records(bootstrap, tag, wanted=12)

    def customer(n1h: float, n24h: float, usd24h: float) -> dict[str, float]:
        return {"customer_txn_count_1h": n1h, "customer_txn_count_24h": n24h, "customer_amount_usd_24h": usd24h}

    # Worked by hand: windows [t - w, t); a payment counts once, at its first event.
    expected = {
        e1: (customer(0, 0, 0), 0),
        e2: (customer(1, 1, 10.0), 1),  # e1 (10:00) is within [9:10, 10:10)
        e3: (customer(1, 2, 31.6), 1),  # 1 h = [10:10, 11:10): e2 at the edge in, e1 out
        e2_captured: (customer(1, 3, 32.87), 1),  # 1 h = [10:30, 11:30): e3; p2 counted once
        e4: (customer(1, 3, 32.87), 1),  # [11:10, 12:10): e3 at the edge; 24 h: e1 + e2 + e3, from before the restart
        e5: (customer(0, 3, 55.87), 0),  # next day 10:10: 24 h from 10:10: e2 (edge), e3, e4 = 21.60 + 1.27 + 33.00
    }
    assert {(str(e.event_id), "customer"): v[0] for e, v in expected.items()} == {
        key: r.values() for key, r in records.items() if key[1] == "customer"
    }
    assert {(str(e.event_id), "card"): {"card_txn_count_1h": float(v[1])} for e, v in expected.items()} == {
        key: r.values() for key, r in records.items() if key[1] == "card"
    }
    assert all(
        r.as_of == next(e for e in expected if str(e.event_id) == key[0]).occurred_at for key, r in records.items()
    )
    assert {r.entity_id for r in records.values()} == {f"cus-{tag}", f"fp-{tag}"}
    assert before == {key: r for key, r in records.items() if key in before}
