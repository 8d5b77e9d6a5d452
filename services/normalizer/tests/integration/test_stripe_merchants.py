"""Stripe refunds and disputes without the platform's merchant, on the real broker: the worker
finds the merchant through their payment (`normalizer.stripe_merchants`), dead-letters the ones
whose payment it never saw (`merchant_unknown`), `redrive` recovers those once the payment came,
and the payments' merchants survive a SIGKILL and a restart."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import time
import urllib.request
import uuid
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition  # type: ignore[import-untyped]
from aiokafka.admin import AIOKafkaAdminClient  # type: ignore[import-untyped]
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType  # type: ignore[import-untyped]
from aiokafka.errors import MessageSizeTooLargeError  # type: ignore[import-untyped]
from mapping.golden import GOLDEN

from contracts.reference.providers import Provider
from contracts.schemas.dlq import RejectReason
from contracts.schemas.normalized_event import EventType, NormalizedEvent, PaymentStatus, SourcePosition
from contracts.topics import DLQ, WEBHOOK_TOPICS
from integration.conftest import StartWorker
from integration.streams import (
    Envelope,
    dead_letters,
    event_id_of,
    normalized_events,
    produce_located,
    wait_until_committed,
)
from normalizer.dlq import dead_letter, worker_name
from normalizer.mapping import MerchantUnknown
from normalizer.redrive import redrive
from normalizer.settings import load_settings
from normalizer.stripe_merchants import orphan
from testing.kafka import KafkaServer

CHARGE = "stripe.charge.succeeded.payment.succeeded"
REFUND = "stripe.refund.created.refund.succeeded"
DISPUTE = "stripe.charge.dispute.created.dispute.opened"
MERCHANT = "MTESTMERCHANT1"
# The golden charge's other platform keys (its metadata, read by hand): its disputes take them too.
CHARGE_PARTY = {
    "customer_id": "cus_ULiRoM2zcnBOXf",
    "device_id": "dev_f29ef09ab6eb7927",
    "ip_country": "ID",
    "merchant_category": "5411",
}
PAYMENTS_PARTITIONS = 6  # the webhook topics' (contracts)
RETENTION_MS = WEBHOOK_TOPICS[Provider.STRIPE].retention_ms  # the internal topic's: the webhook topics' retention


def _payments_topic(group: str) -> tuple[str, int]:
    """The worker's internal topic, named after its app id (the README's name, written out here)."""
    return f"{group}-stripe-payments", PAYMENTS_PARTITIONS


def _envelope(name: str, tag: str, kind: str, change: Any) -> Envelope:
    golden = GOLDEN[name]
    document = golden.document()
    document["provider_event_id"] = f"{tag}-{kind}"
    document["envelope_id"] = str(uuid.uuid4())
    change(document["payload"]["data"]["object"])
    return Envelope(golden.topic, document["provider_event_id"].encode(), json.dumps(document).encode())


def charge(tag: str, merchant: str = MERCHANT) -> Envelope:
    """The golden charge as a payment of its own (`pi_<tag>`), of merchant `MERCHANT`."""

    def change(obj: dict[str, Any]) -> None:
        obj.update(id=f"ch_{tag}", payment_intent=f"pi_{tag}")
        assert {key: obj["metadata"][key] for key in CHARGE_PARTY} == CHARGE_PARTY
        obj["metadata"]["merchant_id"] = merchant

    return _envelope(CHARGE, tag, "charge", change)


def dispute(tag: str) -> Envelope:
    """The golden dispute (as real Stripe sends it: `metadata: {}`) of payment `pi_<tag>`."""

    def change(obj: dict[str, Any]) -> None:
        assert obj["metadata"] == {}
        obj.update(charge=f"ch_{tag}", payment_intent=f"pi_{tag}")

    return _envelope(DISPUTE, tag, "dispute", change)


def refund(tag: str, metadata: dict[str, str] | None = None) -> Envelope:
    """The golden refund of payment `pi_<tag>`, created without metadata (from the Dashboard, say)
    unless `metadata` is given."""

    def change(obj: dict[str, Any]) -> None:
        obj.update(charge=f"ch_{tag}", payment_intent=f"pi_{tag}", metadata=metadata or {})

    return _envelope(REFUND, tag, "refund", change)


def expected_dispute(tag: str, source: SourcePosition) -> NormalizedEvent:
    """The golden dispute's values (read from its payload by hand), with the payment's platform keys
    (what the old mapping gave when the dispute carried them itself)."""
    return NormalizedEvent(
        event_id=event_id_of(dispute(tag)),
        provider=Provider.STRIPE,
        provider_event_id=f"{tag}-dispute",
        event_type=EventType.DISPUTE_OPENED,
        status=PaymentStatus.DISPUTED,
        payment_id=f"stripe:pi_{tag}",
        dispute_id="dp_5RAUBI7O40vcScM1DL3WBR0F",
        dispute_reason="product_not_received",
        amount_minor=1643,
        currency="GBP",
        occurred_at=datetime.fromtimestamp(1738239876, UTC),
        merchant_id=MERCHANT,
        **CHARGE_PARTY,
        source=source,
    )


def _mine(tag: str, bootstrap: str) -> list[tuple[bytes, NormalizedEvent]]:
    return [(key, event) for key, event in normalized_events(bootstrap) if event.provider_event_id.startswith(tag)]


def test_a_dispute_and_a_refund_without_merchant_take_their_payments_merchant(
    broker: KafkaServer, group: str, start_worker: StartWorker
) -> None:
    bootstrap = broker.bootstrap_servers
    tag = uuid.uuid4().hex[:12]
    start_worker()
    (charge_at,) = produce_located(bootstrap, [charge(tag)])
    wait_until_committed(bootstrap, group)  # the charge's fact is on the internal topic
    dispute_at, refund_at = produce_located(bootstrap, [dispute(tag), refund(tag)])
    wait_until_committed(bootstrap, group, internal=[_payments_topic(group)])

    events = _mine(tag, bootstrap)
    kinds = Counter(event.event_type for _, event in events)
    assert kinds == Counter(
        {EventType.PAYMENT_SUCCEEDED: 1, EventType.DISPUTE_OPENED: 1, EventType.REFUND_SUCCEEDED: 1}
    )
    assert all(key == f"stripe:pi_{tag}".encode() for key, _ in events)
    (opened,) = (event for _, event in events if event.event_type is EventType.DISPUTE_OPENED)
    assert opened == expected_dispute(tag, dispute_at)
    (refunded,) = (event for _, event in events if event.event_type is EventType.REFUND_SUCCEEDED)
    assert (refunded.event_id, refunded.merchant_id, refunded.source, refunded.refund_id, refunded.amount_minor) == (
        event_id_of(refund(tag)),
        MERCHANT,
        refund_at,
        "re_sflNsc3CuYYETWhtbC3EFbI3",
        273,
    )
    assert [letter for letter in dead_letters(bootstrap) if (letter.key or "").startswith(tag)] == []
    assert charge_at.topic == dispute_at.topic == "webhooks.stripe.v1"


def test_a_dispute_of_an_unknown_payment_is_dead_lettered_and_redriven_once_the_payment_came(
    broker: KafkaServer, group: str, start_worker: StartWorker
) -> None:
    bootstrap = broker.bootstrap_servers
    tag = uuid.uuid4().hex[:12]
    start_worker()
    (dispute_at,) = produce_located(bootstrap, [dispute(tag)])
    wait_until_committed(bootstrap, group, internal=[_payments_topic(group)])

    assert _mine(tag, bootstrap) == []
    (letter,) = (letter for letter in dead_letters(bootstrap) if letter.key == f"{tag}-dispute")
    assert (letter.stage, letter.worker, letter.source, letter.attempts) == (
        "normalizer",
        f"{group}-stripe",
        dispute_at,
        1,
    )
    assert [(r.field, r.code) for r in letter.reasons] == [
        ("payload.data.object.metadata.merchant_id", "merchant_unknown")
    ]

    produce_located(bootstrap, [charge(tag)])  # the payment comes after all
    wait_until_committed(bootstrap, group, internal=[_payments_topic(group)])
    # The worker of a new group reads the shared topics from their beginning: the earlier tests'
    # messages it dead-lettered (unmappable ones, and refunds and disputes whose payment it saw
    # after them) are this app's dead letters too, redriven in the same run.
    unknown = {
        letter.dlq_id
        for letter in dead_letters(bootstrap)
        if letter.worker == f"{group}-stripe" and [r.code for r in letter.reasons] == ["merchant_unknown"]
    }
    report = asyncio.run(redrive(load_settings(kafka_bootstrap_servers=bootstrap, app_id=group), f"{group}-redrive"))
    assert letter.dlq_id in unknown
    assert report.outcomes["sent_to_merchant_lookup"] == len(unknown)
    wait_until_committed(bootstrap, group, internal=[_payments_topic(group)])

    disputes = [event for _, event in _mine(tag, bootstrap) if event.event_type is EventType.DISPUTE_OPENED]
    assert disputes == [expected_dispute(tag, dispute_at)]  # the original webhook position
    assert len([letter for letter in dead_letters(bootstrap) if letter.key == f"{tag}-dispute"]) == 1


def test_a_dispute_too_large_for_the_lookup_is_dead_lettered_and_the_worker_keeps_serving(
    broker: KafkaServer, group: str, start_worker: StartWorker
) -> None:
    """An orphan carries its envelope: one over the producer's request limit made the send raise,
    and the worker crash on the same record at every start. It is dead-lettered instead."""
    bootstrap = broker.bootstrap_servers
    tag = uuid.uuid4().hex[:12]
    # Real Stripe evidence text is far shorter; a gateway with a raised body limit lets this through.
    # A backslash is 2 bytes in the envelope's JSON and 4 in the orphan's (the envelope is a JSON
    # string there): a 0.6 MB envelope, well inside the topic's 1 MiB, makes a 1.2 MB orphan,
    # over the producer's 1,000,000-byte request limit.
    padding = "\\" * 300_000
    big = _envelope(DISPUTE, tag, "dispute", lambda obj: obj.update(charge=f"ch_{tag}", evidence_text=padding))
    assert 600_000 < len(big.value) < 700_000
    worker = start_worker()
    (big_at,) = produce_located(bootstrap, [big])
    after = f"{tag}after"  # a Stripe id: letters and digits only
    produce_located(bootstrap, [charge(after)])  # served after it: the worker did not stop
    wait_until_committed(bootstrap, group, internal=[_payments_topic(group)])

    assert worker.process.poll() is None
    (letter,) = (letter for letter in dead_letters(bootstrap) if letter.key == f"{tag}-dispute")
    assert (letter.worker, letter.source) == (f"{group}-stripe", big_at)
    assert [(r.field, r.code) for r in letter.reasons] == [
        ("payload.data.object.metadata.merchant_id", "orphan_too_large")
    ]
    charges = [event for _, event in _mine(after, bootstrap) if event.event_type is EventType.PAYMENT_SUCCEEDED]
    assert [event.payment_id for event in charges] == [f"stripe:pi_{after}"]


def test_the_merchants_survive_a_sigkill_and_resolve_a_later_dispute(
    broker: KafkaServer, group: str, start_worker: StartWorker
) -> None:
    bootstrap = broker.bootstrap_servers
    tag = uuid.uuid4().hex[:12]
    worker = start_worker()
    produce_located(bootstrap, [charge(tag)])
    # The fact was read and its changelog write acknowledged: the internal topic is committed.
    wait_until_committed(bootstrap, group, internal=[_payments_topic(group)])
    worker.process.send_signal(signal.SIGKILL)
    worker.process.wait()

    start_worker()  # starts past the fact: it knows the merchant from the table's changelog only
    (dispute_at,) = produce_located(bootstrap, [dispute(tag)])
    wait_until_committed(bootstrap, group, internal=[_payments_topic(group)])

    disputes = [event for _, event in _mine(tag, bootstrap) if event.event_type is EventType.DISPUTE_OPENED]
    assert disputes == [expected_dispute(tag, dispute_at)]
    assert [letter for letter in dead_letters(bootstrap) if (letter.key or "").startswith(tag)] == []


def test_a_refund_naming_another_merchant_does_not_change_its_payments_merchant(
    broker: KafkaServer, group: str, start_worker: StartWorker
) -> None:
    """Only a payment's own events (charges, PaymentIntents) say whose it is: a refund whose creator
    put another merchant in its metadata keeps it for itself, and a later dispute takes the
    charge's."""
    bootstrap = broker.bootstrap_servers
    tag = uuid.uuid4().hex[:12]
    start_worker()
    produce_located(bootstrap, [charge(tag)])
    wait_until_committed(bootstrap, group, internal=[_payments_topic(group)])
    produce_located(bootstrap, [refund(tag, {"merchant_id": "MOTHERMERCHANT2"})])
    # The refund's outputs are acknowledged (a fact of it would be on the internal topic, before
    # the dispute's orphan in the same partition) and the lookup read them.
    wait_until_committed(bootstrap, group, internal=[_payments_topic(group)])
    (dispute_at,) = produce_located(bootstrap, [dispute(tag)])
    wait_until_committed(bootstrap, group, internal=[_payments_topic(group)])

    events = _mine(tag, bootstrap)
    (refunded,) = (event for _, event in events if event.event_type is EventType.REFUND_SUCCEEDED)
    assert (refunded.merchant_id, refunded.customer_id) == ("MOTHERMERCHANT2", None)
    disputes = [event for _, event in events if event.event_type is EventType.DISPUTE_OPENED]
    assert disputes == [expected_dispute(tag, dispute_at)]


async def _commit_past_everything(bootstrap: str, group: str) -> None:
    """Commit `group`'s offsets at the end of every webhook partition, as a worker of an older
    version that handled (dead-lettered) what is on them would have: a new worker starts there."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [TopicPartition(t.name, p) for t in WEBHOOK_TOPICS.values() for p in range(t.partitions)]
        ends = await consumer.end_offsets(partitions)
        consumer.assign(partitions)
        await consumer.commit({tp: end for tp, end in ends.items() if end})
    finally:
        await consumer.stop()


def test_one_redrive_recovers_a_dead_lettered_charge_and_its_dead_lettered_dispute(
    broker: KafkaServer, group: str, start_worker: StartWorker
) -> None:
    """The charge was dead-lettered (an older version could not map it: the letter is written as
    it wrote it), so its dispute was dead-lettered `merchant_unknown`. After the fix, one redrive
    run sends the charge's normalized event and its fact, then the dispute's orphan: the worker's
    lookup reads the fact first (same key, same partition) and publishes the dispute."""
    bootstrap = broker.bootstrap_servers
    tag = uuid.uuid4().hex[:12]
    the_charge, the_dispute = charge(tag), dispute(tag)
    charge_at, dispute_at = produce_located(bootstrap, [the_charge, the_dispute])
    asyncio.run(_commit_past_everything(bootstrap, group))
    stripe = worker_name(group, Provider.STRIPE)
    old_reason = [RejectReason(field="payload.data.object.currency", code="unknown_currency", message="x")]
    unknown = MerchantUnknown(f"pi_{tag}").reasons
    letters = [
        dead_letter(charge_at, the_charge.key, the_charge.value, old_reason, worker=stripe),
        dead_letter(dispute_at, the_dispute.key, the_dispute.value, unknown, worker=stripe),
    ]
    produce_located(bootstrap, [Envelope(DLQ.name, the_charge.key, letters[0].model_dump_json().encode())])
    produce_located(bootstrap, [Envelope(DLQ.name, the_dispute.key, letters[1].model_dump_json().encode())])
    start_worker()

    report = asyncio.run(redrive(load_settings(kafka_bootstrap_servers=bootstrap, app_id=group), f"{group}-redrive"))
    assert dict(report.outcomes) == {"recovered": 1, "sent_to_merchant_lookup": 1}
    wait_until_committed(bootstrap, group, internal=[_payments_topic(group)])

    events = [event for _, event in _mine(tag, bootstrap)]
    assert sorted(event.event_type for event in events) == [EventType.DISPUTE_OPENED, EventType.PAYMENT_SUCCEEDED]
    assert [event for event in events if event.event_type is EventType.DISPUTE_OPENED] == [
        expected_dispute(tag, dispute_at)
    ]
    # No new dead letter of the dispute: only the one published above.
    assert len([letter for letter in dead_letters(bootstrap) if letter.key == f"{tag}-dispute"]) == 1


async def _refuse_writes(bootstrap: str, topic: str, refuse: bool) -> None:
    """Make the broker refuse an orphan written to `topic` (`max.message.bytes` below an orphan's
    size: MESSAGE_TOO_LARGE, which the producer does not retry), or accept it again (the default).
    `alter_configs` replaces the topic's dynamic configs: its retention, as the worker creates it,
    is set with them. (`min.insync.replicas` 2 on our one broker did not refuse acks=all writes.)"""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        configs = {"retention.ms": str(RETENTION_MS)}
        if refuse:
            configs["max.message.bytes"] = str(REFUSED_SIZE)
        responses = await admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, topic, configs=configs)])
        # Each resource: (error code, error message, type, name); the admin client raises nothing.
        assert [tuple(resource[:2]) for response in responses for resource in response.resources] == [(0, None)]
    finally:
        await admin.close()
    if refuse:
        await _until_refused(bootstrap, topic)


REFUSED_SIZE = 512
"""Bytes: a fact is ~200, the golden dispute's orphan ~2,000."""


async def _until_refused(bootstrap: str, topic: str, timeout_seconds: float = 60) -> None:
    """Return once a record of an orphan's size is refused (the broker applies a topic's new config
    a moment after answering `alter_configs`). The probe is a fact (with a key of no meaning to the
    lookup, as padding) of a payment of no test's: if one still goes through, it is harmless."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", request_timeout_ms=5000)
    await producer.start()
    try:
        probe = json.dumps({"merchant_id": "MPROBE", "padding": "x" * 2 * REFUSED_SIZE}).encode()
        deadline = time.monotonic() + timeout_seconds
        while time.monotonic() < deadline:
            try:
                await producer.send_and_wait(topic, probe, key=b"pi_probe")
            except MessageSizeTooLargeError:  # refused (a timeout on a loaded host is not a refusal)
                return
        raise AssertionError(f"{topic} still accepts {len(probe)}-byte records after {timeout_seconds} s")
    finally:
        await producer.stop()


async def _committed_past(bootstrap: str, group: str, position: SourcePosition, seconds: float) -> int | None:
    """Poll `group`'s committed offset of the position's partition for `seconds`; the first one past
    the position, or None if none came (the bounded wait of a negative: see the test)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        tp = TopicPartition(position.topic, position.partition)
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            committed = await consumer.committed(tp)
            if committed is not None and committed > position.offset:
                return int(committed)
            await asyncio.sleep(0.2)  # polling interval of the committed offset
        return None
    finally:
        await consumer.stop()


def test_a_dispute_is_not_committed_before_its_orphan_is_on_the_internal_topic(
    broker: KafkaServer, group: str, start_worker: StartWorker
) -> None:
    """At least once: the webhook offset of a forwarded orphan is committed only after the broker
    acknowledged the orphan. The internal topic refuses writes; the dispute must stay uncommitted;
    once it accepts them again, a new worker normalizes the dispute."""
    bootstrap = broker.bootstrap_servers
    tag = uuid.uuid4().hex[:12]
    topic, _ = _payments_topic(group)
    worker = start_worker()
    produce_located(bootstrap, [charge(tag)])
    wait_until_committed(bootstrap, group, internal=[_payments_topic(group)])  # the fact is in the table
    try:
        asyncio.run(_refuse_writes(bootstrap, topic, refuse=True))
        (dispute_at,) = produce_located(bootstrap, [dispute(tag)])
        # A negative needs a bounded wait: a worker that commits without the acknowledgement does
        # so within a batch (`NORMALIZER_BATCH_SECONDS`) and a commit interval (0.2 s here) of
        # reading the dispute; 15 s is many times that on a loaded host. The worker meanwhile
        # fails on the refused write and stops; either way the dispute must stay uncommitted.
        assert asyncio.run(_committed_past(bootstrap, group, dispute_at, 15.0)) is None
        # The refusal was exercised: the worker read the dispute, its forward was refused, and it
        # stopped (about a second after the refusal; it does not stop if the orphan never went out).
        assert worker.process.poll() is not None, "the worker never met the refused write"
    finally:
        asyncio.run(_refuse_writes(bootstrap, topic, refuse=False))
    worker.process.wait()
    start_worker()
    wait_until_committed(bootstrap, group, internal=[_payments_topic(group)])

    disputes = [event for _, event in _mine(tag, bootstrap) if event.event_type is EventType.DISPUTE_OPENED]
    assert {event.event_id for event in disputes} == {event_id_of(dispute(tag))}  # once, by event_id
    assert all(event == expected_dispute(tag, dispute_at) for event in disputes)  # copies are the same event
    assert [letter for letter in dead_letters(bootstrap) if (letter.key or "").startswith(tag)] == []


def _metric(url: str, name: str, outcome: str) -> int:
    with urllib.request.urlopen(url + "/metrics", timeout=5) as response:  # noqa: S310 (loopback)
        text = response.read().decode()
    return sum(int(n) for n in re.findall(rf'{name}{{outcome="{outcome}"}} ([0-9]+)', text))


def test_an_orphan_the_current_code_ignores_is_counted_and_an_unreadable_record_is_named_by_redrive(
    broker: KafkaServer, group: str, start_worker: StartWorker
) -> None:
    """Two records on the internal topic that no Stripe agent of this version writes: an orphan of a
    pending refund (a version that forwarded it, say), which maps to no outcome, and a record that
    is neither a fact nor an orphan (`attempts` 0). The first is counted `ignored`, the second is
    dead-lettered; `redrive` cannot map that one again and names it under `not_redriven`."""
    bootstrap = broker.bootstrap_servers
    tag = uuid.uuid4().hex[:12]
    worker = start_worker()
    topic, _ = _payments_topic(group)
    the_refund = _envelope(REFUND, tag, "refund", lambda obj: obj.update(metadata={}, status="pending"))
    # The payment is known (an orphan of an unknown one is dead-lettered before it is mapped); the
    # worker ignores the refund itself (not an outcome yet), so the orphan below is the only one.
    _, refund_at = produce_located(bootstrap, [charge(tag), the_refund])
    wait_until_committed(bootstrap, group, internal=[_payments_topic(group)])
    key, value = orphan(f"pi_{tag}", refund_at, the_refund.key, the_refund.value)
    bad = json.loads(value)
    bad["attempts"] = 0
    produce_located(bootstrap, [Envelope(topic, key, value), Envelope(topic, key, json.dumps(bad).encode())])
    wait_until_committed(bootstrap, group, internal=[_payments_topic(group)])

    assert _metric(worker.base_url, "normalizer_stripe_merchants_total", "ignored") == 1
    assert _metric(worker.base_url, "normalizer_stripe_merchants_total", "unreadable") == 1
    assert [event.event_type for _, event in _mine(tag, bootstrap)] == [EventType.PAYMENT_SUCCEEDED]
    (letter,) = (letter for letter in dead_letters(bootstrap) if letter.worker == f"{group}-stripe_merchants")
    assert (letter.source.topic, [r.code for r in letter.reasons]) == (topic, ["unreadable"])

    report = asyncio.run(redrive(load_settings(kafka_bootstrap_servers=bootstrap, app_id=group), f"{group}-redrive"))
    assert report.outcomes["internal_record"] == 1
    (entry,) = (entry for entry in report.not_redriven if entry["outcome"] == "internal_record")
    assert (entry["dlq_id"], entry["worker"], entry["topic"]) == (str(letter.dlq_id), letter.worker, topic)
    assert "neither a fact nor an orphan" in entry["reason"]
