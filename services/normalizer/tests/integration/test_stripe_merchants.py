"""Stripe refunds and disputes without the platform's merchant, on the real broker: the worker
finds the merchant through their payment (`normalizer.stripe_merchants`), dead-letters the ones
whose payment it never saw (`merchant_unknown`), `redrive` recovers those once the payment came,
and the payments' merchants survive a SIGKILL and a restart."""

from __future__ import annotations

import asyncio
import json
import signal
import uuid
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from mapping.golden import GOLDEN

from contracts.reference.providers import Provider
from contracts.schemas.normalized_event import EventType, NormalizedEvent, PaymentStatus, SourcePosition
from integration.conftest import StartWorker
from integration.streams import (
    Envelope,
    dead_letters,
    event_id_of,
    normalized_events,
    produce_located,
    wait_until_committed,
)
from normalizer.redrive import redrive
from normalizer.settings import load_settings
from testing.kafka import KafkaServer

CHARGE = "stripe.charge.succeeded.payment.succeeded"
REFUND = "stripe.refund.created.refund.succeeded"
DISPUTE = "stripe.charge.dispute.created.dispute.opened"
MERCHANT = "MTESTMERCHANT1"
PAYMENTS_PARTITIONS = 6  # the webhook topics' (contracts)


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


def charge(tag: str) -> Envelope:
    """The golden charge as a payment of its own (`pi_<tag>`), of merchant `MERCHANT`."""

    def change(obj: dict[str, Any]) -> None:
        obj.update(id=f"ch_{tag}", payment_intent=f"pi_{tag}")
        obj["metadata"]["merchant_id"] = MERCHANT

    return _envelope(CHARGE, tag, "charge", change)


def dispute(tag: str) -> Envelope:
    """The golden dispute (as real Stripe sends it: `metadata: {}`) of payment `pi_<tag>`."""

    def change(obj: dict[str, Any]) -> None:
        assert obj["metadata"] == {}
        obj.update(charge=f"ch_{tag}", payment_intent=f"pi_{tag}")

    return _envelope(DISPUTE, tag, "dispute", change)


def refund(tag: str) -> Envelope:
    """The golden refund of payment `pi_<tag>`, created without metadata (from the Dashboard, say)."""

    def change(obj: dict[str, Any]) -> None:
        obj.update(charge=f"ch_{tag}", payment_intent=f"pi_{tag}", metadata={})

    return _envelope(REFUND, tag, "refund", change)


def expected_dispute(tag: str, source: SourcePosition) -> NormalizedEvent:
    """The golden dispute's values (read from its payload by hand), with the payment's merchant."""
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
    assert report.outcomes["merchant_lookup"] == len(unknown)
    wait_until_committed(bootstrap, group, internal=[_payments_topic(group)])

    disputes = [event for _, event in _mine(tag, bootstrap) if event.event_type is EventType.DISPUTE_OPENED]
    assert disputes == [expected_dispute(tag, dispute_at)]  # the original webhook position
    assert len([letter for letter in dead_letters(bootstrap) if letter.key == f"{tag}-dispute"]) == 1


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
