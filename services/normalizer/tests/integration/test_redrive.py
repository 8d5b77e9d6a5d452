"""`redrive` on the real broker: a dead letter whose message the current code maps is recovered,
once; one that still fails goes back with one more attempt, for the next run after a fix."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

from aiokafka import AIOKafkaProducer  # type: ignore[import-untyped]

from contracts.schemas.dlq import RejectReason
from contracts.schemas.normalized_event import SourcePosition
from contracts.topics import DLQ
from integration.streams import dead_letters, event_id_of, normalized_events, unmappable, variant
from normalizer.dlq import dead_letter
from normalizer.redrive import redrive
from normalizer.settings import load_settings
from testing.kafka import KafkaServer


async def _produce_and_locate(bootstrap: str, messages: list[tuple[str, bytes, bytes]]) -> list[SourcePosition]:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        positions = []
        for topic, key, value in messages:
            metadata = await producer.send_and_wait(topic, value, key=key)
            positions.append(SourcePosition(topic=topic, partition=metadata.partition, offset=metadata.offset))
        return positions
    finally:
        await producer.stop()


def test_redrive_recovers_a_dead_letter_once_after_a_fix(broker: KafkaServer) -> None:
    bootstrap = broker.bootstrap_servers
    tag = uuid.uuid4().hex[:10]
    fixed = variant("braintree.transaction_settled.payment.succeeded", tag, 0)
    broken = unmappable("adyen.AUTHORISATION.payment.succeeded", tag, 1)
    fixed_at, broken_at = asyncio.run(
        _produce_and_locate(bootstrap, [(e.topic, e.key, e.value) for e in (fixed, broken)])
    )
    # What an older normalizer wrote: it could not map either (say it knew no alpha-3 country).
    old_reason = (RejectReason(field="payload.subject.transaction.credit_card", code="unknown_country", message="x"),)
    letters = [
        dead_letter(fixed_at, fixed.key, fixed.value, old_reason, failed_at=datetime.now(UTC)),
        dead_letter(fixed_at, fixed.key, fixed.value, old_reason),  # dead-lettered twice (a crash)
        dead_letter(broken_at, broken.key, broken.value, old_reason),
    ]
    asyncio.run(
        _produce_and_locate(
            bootstrap,
            [(DLQ.name, (letter.key or "").encode(), letter.model_dump_json().encode()) for letter in letters],
        )
    )
    settings = load_settings(kafka_bootstrap_servers=bootstrap)
    group = f"redrive-test-{tag}"

    first = asyncio.run(redrive(settings, group))
    again = asyncio.run(redrive(settings, group))

    assert first["recovered"] >= 1, first
    assert first["skipped_copy"] >= 1, first
    assert first["still_failing"] >= 1, first
    # Every dead letter is redriven once: the second run sees only what the first one dead-lettered again.
    assert again.get("recovered", 0) == 0
    assert again.get("skipped_copy", 0) == 0
    mine = [event for _, event in normalized_events(bootstrap) if event.provider_event_id.startswith(tag)]
    assert [event.event_id for event in mine] == [event_id_of(fixed)]
    assert mine[0].source == fixed_at
    retried = [letter for letter in dead_letters(bootstrap) if letter.key == broken.key.decode()]
    assert [letter.attempts for letter in retried] == [1, 2, 3]
    assert {letter.dlq_id for letter in retried} == {letters[2].dlq_id}
    assert [(r.field, r.code) for r in retried[1].reasons] == [("payload.eventCode", "unsupported")]
