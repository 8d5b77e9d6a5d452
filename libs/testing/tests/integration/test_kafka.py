"""The kafka fixtures: one broker for the process, a fresh ready topic per test."""

from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer  # type: ignore[import-untyped]

from local_stack.kafka_admin import metadata, parse_bootstrap
from testing.kafka import KafkaServer, KafkaTopic


def test_each_test_gets_its_own_empty_topic(kafka: KafkaTopic, kafka_server: KafkaServer) -> None:
    host, port = parse_bootstrap(kafka.bootstrap_servers)[0]

    (topic,) = metadata(host, port, [kafka.topic]).topics

    assert kafka.bootstrap_servers == kafka_server.bootstrap_servers
    assert topic.name == kafka.topic and topic.error_code == 0
    assert len(topic.partitions) == kafka.partitions == 1


def test_the_topic_round_trips_a_message(kafka: KafkaTopic) -> None:
    async def round_trip() -> bytes | None:
        producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap_servers)
        await producer.start()
        try:
            await producer.send_and_wait(kafka.topic, b"payment-1")
        finally:
            await producer.stop()
        consumer = AIOKafkaConsumer(
            kafka.topic, bootstrap_servers=kafka.bootstrap_servers, auto_offset_reset="earliest"
        )
        await consumer.start()
        try:
            async with asyncio.timeout(30):
                record = await consumer.getone()
            value: bytes | None = record.value
            return value
        finally:
            await consumer.stop()

    assert asyncio.run(round_trip()) == b"payment-1"


def test_create_topic_sets_the_partition_count(kafka_server: KafkaServer) -> None:
    topic = kafka_server.create_topic("partitioned", partitions=4)
    host, port = parse_bootstrap(kafka_server.bootstrap_servers)[0]

    (info,) = metadata(host, port, [topic]).topics

    assert sorted(p.partition for p in info.partitions) == [0, 1, 2, 3]
    kafka_server.delete_topic(topic)
