"""The broker keeps every acknowledged message across a restart, exactly once."""

from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition  # type: ignore[import-untyped]

from local_stack import LocalStack
from local_stack.kafka_admin import create_topics
from testing.names import unique_name

MESSAGES = 10_000
PARTITIONS = 3


def _payloads() -> list[tuple[bytes, bytes]]:
    return [(f"key-{i}".encode(), f"value-{i}".encode()) for i in range(MESSAGES)]


async def _produce(bootstrap: str, topic: str, payloads: list[tuple[bytes, bytes]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=5)
    await producer.start()
    try:
        sent = [await producer.send(topic, key=key, value=value) for key, value in payloads]
        await asyncio.gather(*sent)
    finally:
        await producer.stop()


async def _consume(bootstrap: str, topic: str, group: str) -> tuple[list[tuple[bytes, bytes]], bool]:
    """Read until the group's committed offsets reach the end of every partition."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    received: list[tuple[bytes, bytes]] = []
    try:
        partitions = [TopicPartition(topic, p) for p in range(PARTITIONS)]
        end = await consumer.end_offsets(partitions)
        async with asyncio.timeout(120):
            while len(received) < MESSAGES:
                batches = await consumer.getmany(timeout_ms=1000)
                for records in batches.values():
                    received.extend((r.key or b"", r.value or b"") for r in records)
                if batches:
                    await consumer.commit()
        committed = {tp: await consumer.committed(tp) for tp in partitions}
        return received, committed == end
    finally:
        await consumer.stop()


def test_restart_keeps_every_message_exactly_once(owned_stack: LocalStack) -> None:
    owned_stack.up(["kafka"])
    bootstrap = owned_stack.service("kafka").address()
    topic = unique_name("restart-exactly-once")
    create_topics(bootstrap, [topic], partitions=PARTITIONS)
    payloads = _payloads()

    asyncio.run(_produce(bootstrap, topic, payloads))
    owned_stack.restart("kafka")
    received, committed_to_end = asyncio.run(_consume(bootstrap, topic, unique_name("group")))

    assert len(received) == MESSAGES, "a message was lost or duplicated"
    assert set(received) == set(payloads)
    assert committed_to_end, "manual commits did not reach the end of every partition"
