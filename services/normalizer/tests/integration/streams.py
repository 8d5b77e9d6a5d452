"""Test-side Kafka: produce envelopes, wait for a consumer group to commit, read topics to their end."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition  # type: ignore[import-untyped]
from aiokafka.structs import ConsumerRecord  # type: ignore[import-untyped]
from mapping.golden import GOLDEN, LOOKED_UP

from contracts.reference.providers import Provider
from contracts.schemas.dlq import DeadLetter
from contracts.schemas.normalized_event import NormalizedEvent, SourcePosition, event_id_for
from contracts.topics import DLQ, NORMALIZED, WEBHOOK_TOPICS, Topic


@dataclass(frozen=True)
class Envelope:
    """One message for a provider topic."""

    topic: str
    key: bytes
    value: bytes
    timestamp_ms: int | None = None


def variant(name: str, tag: str, n: int, lookup: bool = False) -> Envelope:
    """Golden envelope `name` as a new provider event: its own provider event id.

    A golden Stripe dispute names no merchant (as real Stripe sends it) and its payment is none of
    the golden charges: the worker would dead-letter it (`merchant_unknown`). Unless `lookup`, it is
    given its payment's platform keys in its metadata (as a platform that set the dispute's metadata
    through Stripe's API), so that it maps on its own; `test_stripe_merchants` tests the lookup."""
    golden = GOLDEN[name]
    document = golden.document()
    document["provider_event_id"] = f"{tag}-{n}-{golden.provider_event_id}"
    document["envelope_id"] = str(uuid.uuid4())
    if name in LOOKED_UP and not lookup:
        document["payload"]["data"]["object"]["metadata"] = dict(LOOKED_UP[name])
    return Envelope(golden.topic, document["provider_event_id"].encode(), json.dumps(document).encode())


def unmappable(name: str, tag: str, n: int) -> Envelope:
    """An envelope that decodes but cannot be mapped (an event type with no normalized meaning)."""
    golden = GOLDEN[name]
    document = golden.document()
    document["provider_event_id"] = f"{tag}-bad-{n}"
    provider = golden.provider.value
    if provider == "stripe":
        document["payload"]["type"] = "charge.expired"
    elif provider == "square":
        document["payload"]["data"]["object"]["payment"]["status"] = "VOIDED"  # a card's status, not a payment's
    elif provider == "adyen":
        document["payload"]["eventCode"] = "REPORT_AVAILABLE"
    else:
        document["payload"]["kind"] = "subscription_charged_successfully"
    return Envelope(golden.topic, document["provider_event_id"].encode(), json.dumps(document).encode())


def pending(tag: str, n: int) -> Envelope:
    """A well-formed step before an outcome (a pending Stripe refund, a PENDING Square payment):
    ignored, so no event and no dead letter, but acknowledged."""
    name = ["stripe.refund.created.refund.succeeded", "square.payment.updated.payment.succeeded"][n % 2]
    golden = GOLDEN[name]
    document = golden.document()
    document["provider_event_id"] = f"{tag}-pending-{n}"
    if golden.provider.value == "stripe":
        document["payload"]["data"]["object"]["status"] = "pending"
    else:
        document["payload"]["data"]["object"]["payment"]["status"] = "PENDING"
    return Envelope(golden.topic, document["provider_event_id"].encode(), json.dumps(document).encode())


def garbage(tag: str, n: int) -> Envelope:
    """Not an envelope at all, with a card number in it that the dead letter must not carry."""
    topic = WEBHOOK_TOPICS[sorted(WEBHOOK_TOPICS)[n % len(WEBHOOK_TOPICS)]].name
    return Envelope(topic, f"{tag}-garbage-{n}".encode(), b'{"card": "4242 4242 4242 4242", "cut": ')


def event_id_of(envelope: Envelope) -> uuid.UUID:
    return event_id_for(Provider(envelope.topic.split(".")[1]), envelope.key.decode())


async def _produce(bootstrap: str, envelopes: Sequence[Envelope]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    await producer.start()
    try:
        futures = [await producer.send(e.topic, e.value, key=e.key, timestamp_ms=e.timestamp_ms) for e in envelopes]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


def produce(bootstrap: str, envelopes: Sequence[Envelope]) -> None:
    asyncio.run(_produce(bootstrap, envelopes))


async def _produce_located(bootstrap: str, envelopes: Sequence[Envelope]) -> list[SourcePosition]:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        positions = []
        for e in envelopes:
            sent = await producer.send_and_wait(e.topic, e.value, key=e.key, timestamp_ms=e.timestamp_ms)
            positions.append(SourcePosition(topic=e.topic, partition=sent.partition, offset=sent.offset))
        return positions
    finally:
        await producer.stop()


def produce_located(bootstrap: str, envelopes: Sequence[Envelope]) -> list[SourcePosition]:
    """Produce one by one, in order; where each landed (its source position)."""
    return asyncio.run(_produce_located(bootstrap, envelopes))


async def _ends(consumer: AIOKafkaConsumer, topics: Iterable[Topic | tuple[str, int]]) -> dict[TopicPartition, int]:
    """Current end offsets; the partition counts are the contracts' (the worker creates the topics),
    or given with the name for a topic of the worker's own."""
    named = [(topic.name, topic.partitions) if isinstance(topic, Topic) else topic for topic in topics]
    partitions = [TopicPartition(name, p) for name, count in named for p in range(count)]
    return dict(await consumer.end_offsets(partitions))


async def _committed_reaches_end(
    bootstrap: str, group: str, timeout_seconds: float, internal: Sequence[tuple[str, int]] = ()
) -> None:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = list(await _ends(consumer, [*WEBHOOK_TOPICS.values(), *internal]))
        deadline = time.monotonic() + timeout_seconds
        while True:
            # The committed offsets first, then the ends, on every poll: a webhook committed here
            # had its outputs acknowledged before these ends were read, so the orphan it put on the
            # internal topic is counted in them and waited for too.
            found = {tp: await consumer.committed(tp) for tp in partitions}
            ends = dict(await consumer.end_offsets(partitions))
            # Nothing to commit below a partition's log start: `test_redrive` deletes a record, and
            # a partition holding nothing else is never committed by a new group.
            starts = await consumer.beginning_offsets(partitions)
            committed = {tp: found[tp] or starts[tp] for tp, end in ends.items() if end}
            behind = {
                f"{tp.topic}[{tp.partition}]": (committed[tp], end)
                for tp, end in ends.items()
                if end and committed[tp] < end
            }
            if not behind:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"group {group} is behind (committed, end): {behind}")
            await asyncio.sleep(0.2)  # polling interval of the committed offsets
    finally:
        await consumer.stop()


def wait_until_committed(
    bootstrap: str, group: str, timeout_seconds: float = 180, internal: Sequence[tuple[str, int]] = ()
) -> None:
    """Return once `group` committed every input partition (and every partition of the `internal`
    topics, name and partition count) to its end, the ends read again on each poll (outputs
    acknowledged, and what its own outputs added to the internal topics consumed too)."""
    asyncio.run(_committed_reaches_end(bootstrap, group, timeout_seconds, internal))


async def _read_all(bootstrap: str, topic: Topic) -> list[ConsumerRecord[bytes, bytes]]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest")
    await consumer.start()
    try:
        ends = await _ends(consumer, [topic])
        consumer.assign(list(ends))
        await consumer.seek_to_beginning(*ends)
        records: list[ConsumerRecord[bytes, bytes]] = []
        while [tp for tp, end in ends.items() if await consumer.position(tp) < end]:
            batch = await consumer.getmany(timeout_ms=1000)
            for tp, messages in batch.items():
                records.extend(m for m in messages if m.offset < ends[tp])
        return records
    finally:
        await consumer.stop()


def normalized_events(bootstrap: str) -> list[tuple[bytes, NormalizedEvent]]:
    records = asyncio.run(_read_all(bootstrap, NORMALIZED))
    return [(r.key or b"", NormalizedEvent.model_validate_json(r.value or b"")) for r in records]


def dead_letters(bootstrap: str) -> list[DeadLetter]:
    """Every dead letter on the topic, validated strictly, except the records `test_redrive` writes
    as a newer contracts version would (a field this version does not declare)."""
    records = [r.value or b"" for r in asyncio.run(_read_all(bootstrap, DLQ))]
    return [DeadLetter.model_validate_json(value) for value in records if not _from_a_newer_version(value)]


def _from_a_newer_version(value: bytes) -> bool:
    try:
        raw = json.loads(value)
    except ValueError:
        return False
    return isinstance(raw, dict) and not set(raw) <= set(DeadLetter.model_fields)
