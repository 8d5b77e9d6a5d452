"""Read back what the gateway appended to its topics since a test began, up to the current end."""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType

from aiokafka import AIOKafkaConsumer, TopicPartition  # type: ignore[import-untyped]  # no py.typed

from contracts.topics import QUARANTINE, WEBHOOK_TOPICS
from local_stack.kafka_admin import KafkaAdminError, create_topics, metadata, parse_bootstrap, wait_for_leaders

TOPIC_ALREADY_EXISTS = "error 36"


def ensure_webhook_topics(bootstrap_servers: str) -> None:
    """The gateway publishes to the contract's topics: create those missing, with its partitions."""
    host, port = parse_bootstrap(bootstrap_servers)[0]
    topics = [*WEBHOOK_TOPICS.values(), QUARANTINE]
    names = [topic.name for topic in topics]
    existing = {t.name for t in metadata(host, port, names).topics if t.error_code == 0}
    for topic in topics:
        if topic.name in existing:
            continue
        try:
            create_topics(bootstrap_servers, [topic.name], partitions=topic.partitions)
        except KafkaAdminError as exc:  # created concurrently by another test process
            if TOPIC_ALREADY_EXISTS not in str(exc):
                raise
    wait_for_leaders(bootstrap_servers, names, 1, timeout=30.0)


def closed_port() -> str:
    """A local broker address nothing listens on: connecting is refused, as when the broker is down."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"127.0.0.1:{port}"


@dataclass(frozen=True)
class Record:
    topic: str
    partition: int
    offset: int
    key: bytes
    value: bytes


class TopicReader:
    def __init__(self, bootstrap_servers: str, topics: Sequence[str]) -> None:
        self._bootstrap = bootstrap_servers
        self._topics = list(topics)
        self._consumer: AIOKafkaConsumer | None = None
        self._start: dict[TopicPartition, int] = {}

    async def __aenter__(self) -> TopicReader:
        host, port = parse_bootstrap(self._bootstrap)[0]
        partitions = [
            TopicPartition(topic.name, p.partition)
            for topic in metadata(host, port, self._topics).topics
            if topic.error_code == 0
            for p in topic.partitions
        ]
        if not partitions:
            raise RuntimeError(f"no partitions for {self._topics}")
        # A fetch long-polls for up to fetch_max_wait_ms and the offset requests queue behind it on
        # the same connection: keep that wait short, and fetch only while reading (paused otherwise).
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self._bootstrap, enable_auto_commit=False, group_id=None, fetch_max_wait_ms=20
        )
        await consumer.start()
        consumer.assign(partitions)
        consumer.pause(*partitions)
        self._start = dict(await consumer.end_offsets(partitions))
        self._consumer = consumer
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._consumer is not None:
            await self._consumer.stop()

    async def mark(self) -> None:
        """From now on `new_records` returns only what is appended after this call."""
        consumer = self._consumer
        assert consumer is not None
        self._start = dict(await consumer.end_offsets(list(self._start)))

    async def new_records(self, timeout: float = 20.0) -> list[Record]:
        """Every record appended since the reader started, up to the end offsets as of now."""
        consumer = self._consumer
        assert consumer is not None
        partitions = list(self._start)
        end = await consumer.end_offsets(partitions)
        if all(end[tp] == offset for tp, offset in self._start.items()):
            return []  # nothing appended: no need to fetch
        for tp, offset in self._start.items():
            consumer.seek(tp, offset)
        consumer.resume(*partitions)
        try:
            return await self._read_until(consumer, partitions, end, timeout)
        finally:
            consumer.pause(*partitions)

    async def _read_until(
        self,
        consumer: AIOKafkaConsumer,
        partitions: list[TopicPartition],
        end: dict[TopicPartition, int],
        timeout: float,
    ) -> list[Record]:
        records: list[Record] = []
        deadline = time.monotonic() + timeout
        while any([await consumer.position(tp) < end[tp] for tp in partitions]):
            if time.monotonic() > deadline:
                raise TimeoutError(f"read {len(records)} records, still behind end offsets {end}")
            batches = await consumer.getmany(timeout_ms=500)
            for tp, messages in batches.items():
                for message in messages:
                    if message.offset >= end[tp]:
                        continue
                    records.append(
                        Record(tp.topic, tp.partition, message.offset, message.key or b"", message.value or b"")
                    )
            await asyncio.sleep(0)
        return records

    async def records_for(self, keys: Sequence[str], timeout: float = 20.0) -> list[Record]:
        wanted = {key.encode() for key in keys}
        return [record for record in await self.new_records(timeout) if record.key in wanted]
