"""The push consumer: `features.velocity.v1` -> the online store, through the velocity views' push sources.

`python -m feature_repo.push_consumer` (pex `services/feast:push-consumer`): one Kafka consumer
(group `FEATURE_REPO_PUSH_GROUP_ID`) reads the normalizer's `VelocityFeatures` records in
batches; per batch it keeps each entity's newest record (by `as_of`), pushes one frame per entity
kind through `customer_velocity_push` / `card_velocity_push` (`PushMode.ONLINE`) into the
`customer_velocity` / `card_velocity` views, the views `fraud_v1` serves those features from (so
inference reads the pushed values), dead-letters what it cannot read to `payments.dlq.v1` (stage
`feature_push`, with the reasons and the source position), and commits the batch's offsets only
after the push returned and every dead letter was acknowledged. A failed push stops the process
uncommitted: a restart pushes the batch again (a push is an upsert of the same values).

A record without every feature of its view (from a normalizer older than contracts 1.4.0, which
streamed four of the seven) is dead-lettered (`incomplete_features`) rather than pushed: a push
writes every feature of the view, and would blank the ones the record lacks.

`GET /healthz` (alive) and `GET /readyz` (200 once partitions are assigned, 503 otherwise) on
`FEATURE_REPO_HOST:FEATURE_REPO_PUSH_PORT`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import NAMESPACE_OID, uuid5

import pandas as pd  # type: ignore[import-untyped]
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer  # type: ignore[import-untyped]
from aiokafka.admin import AIOKafkaAdminClient, NewTopic  # type: ignore[import-untyped]
from aiokafka.errors import TopicAlreadyExistsError  # type: ignore[import-untyped]
from aiokafka.structs import ConsumerRecord  # type: ignore[import-untyped]
from feast import FeatureStore
from feast.data_source import PushMode
from pydantic import ValidationError

from contracts.schemas.dlq import DeadLetter, RejectReason, redact_excerpt
from contracts.schemas.normalized_event import SourcePosition
from contracts.schemas.velocity import VelocityEntity, VelocityFeatures
from contracts.topics import DLQ, VELOCITY, Topic
from feature_repo.definitions import ENTITY_JOIN_KEYS, TIMESTAMP, VELOCITY_PUSH_SOURCES
from feature_repo.settings import ENV_PREFIX, ConfigurationError, FeatureRepoSettings, load_settings
from feature_repo.store import open_store

log = logging.getLogger("feature_repo.push_consumer")

STAGE = "feature_push"


def dead_letter(message: ConsumerRecord[bytes, bytes], reasons: Sequence[RejectReason], worker: str) -> DeadLetter:
    source = SourcePosition(topic=message.topic, partition=message.partition, offset=message.offset)
    return DeadLetter(
        dlq_id=uuid5(NAMESPACE_OID, f"{STAGE}:{source.topic}:{source.partition}:{source.offset}"),
        stage=STAGE,
        source=source,
        key=message.key.decode("utf-8", errors="replace") if message.key is not None else None,
        reasons=tuple(reasons),
        payload_excerpt=redact_excerpt(message.value or b""),
        failed_at=datetime.now(UTC),
        worker=worker,
    )


def decode(message: ConsumerRecord[bytes, bytes]) -> VelocityFeatures | list[RejectReason]:
    """The record, or why it is not one (field-level reasons)."""
    try:
        record = VelocityFeatures.model_validate_json(message.value or b"")
    except ValidationError as exc:
        return [
            RejectReason(field=".".join(map(str, e["loc"])) or "$", code=e["type"], message=e["msg"])
            for e in exc.errors()
        ]
    if message.key != record.key().encode():
        return [RejectReason(field="key", code="key_mismatch", message=f"the key must be {record.key()!r}")]
    if record.missing():
        return [
            RejectReason(
                field=f"features.{name}",
                code="incomplete_features",
                message="missing (a producer before contracts 1.4.0): pushing would blank it online",
            )
            for name in record.missing()
        ]
    return record


def frames(records: Iterable[VelocityFeatures]) -> dict[VelocityEntity, pd.DataFrame]:
    """One push frame per entity kind: each entity's newest record (by `as_of`; the later one of
    two with the same `as_of`), as the join key, `event_timestamp` and the view's features."""
    newest: dict[str, VelocityFeatures] = {}
    for record in records:
        known = newest.get(record.key())
        if known is None or record.as_of >= known.as_of:
            newest[record.key()] = record
    rows: dict[VelocityEntity, list[dict[str, Any]]] = {}
    for record in newest.values():
        row = {ENTITY_JOIN_KEYS[record.entity]: record.entity_id, TIMESTAMP: record.as_of, **record.values()}
        rows.setdefault(record.entity, []).append(row)
    return {entity: pd.DataFrame(entity_rows) for entity, entity_rows in rows.items()}


@dataclass
class Counts:
    pushed: int = 0
    dead_lettered: int = 0
    batches: int = 0


@dataclass
class PushConsumer:
    settings: FeatureRepoSettings
    store: FeatureStore
    bootstrap_servers: str
    topic: str = VELOCITY.name
    """The topic read: the contracts' one (a benchmark reads a scratch topic of the same records)."""
    counts: Counts = field(default_factory=Counts)
    consumer: AIOKafkaConsumer | None = None
    producer: AIOKafkaProducer | None = None

    async def start(self) -> None:
        self.consumer = AIOKafkaConsumer(
            self.topic,
            bootstrap_servers=self.bootstrap_servers,
            group_id=self.settings.push_group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )
        self.producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap_servers, acks="all")
        await self.producer.start()
        await self.consumer.start()

    async def stop(self) -> None:
        if self.consumer is not None:
            await self.consumer.stop()
        if self.producer is not None:
            await self.producer.stop()

    def ready(self) -> bool:
        return self.consumer is not None and bool(self.consumer.assignment())

    async def run_once(self) -> int:
        """Read, push and commit one batch; the number of messages it held."""
        assert self.consumer is not None and self.producer is not None
        batch = await self.consumer.getmany(
            timeout_ms=int(self.settings.push_poll_seconds * 1000), max_records=self.settings.push_batch_size
        )
        messages = [message for partition in batch.values() for message in partition]
        if not messages:
            return 0
        records: list[VelocityFeatures] = []
        letters = []
        for message in messages:
            decoded = decode(message)
            if isinstance(decoded, VelocityFeatures):
                records.append(decoded)
            else:
                letter = dead_letter(message, decoded, worker=self.settings.push_group_id)
                log.warning("dead-lettered %s: %s", letter.source, [r.message for r in decoded])
                letters.append(await self.producer.send(DLQ.name, letter.model_dump_json().encode(), key=message.key))
        for entity, frame in frames(records).items():
            # Feast's push is blocking (SQLite/Redis I/O): off the event loop, so heartbeats go on.
            await asyncio.to_thread(self.store.push, VELOCITY_PUSH_SOURCES[entity], frame, to=PushMode.ONLINE)
        await asyncio.gather(*letters)
        await self.consumer.commit(
            {tp: max(m.offset for m in partition) + 1 for tp, partition in batch.items() if partition}
        )
        self.counts.pushed += len(records)
        self.counts.dead_lettered += len(letters)
        self.counts.batches += 1
        return len(messages)


async def ensure_topics(bootstrap_servers: str, topics: Sequence[Topic] = (VELOCITY, DLQ)) -> None:
    """Create the topics it reads and writes when missing, with the contracts' partitions (a
    subscription to a missing topic could have the broker create it with its default count)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [
            NewTopic(
                t.name,
                num_partitions=t.partitions,
                replication_factor=1,
                topic_configs={"retention.ms": str(t.retention_ms)},
            )
            for t in topics
            if t.name not in existing
        ]
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):  # another process created them meanwhile
                await admin.create_topics(missing)
    finally:
        await admin.close()


async def _serve_health(consumer: PushConsumer, host: str, port: int) -> asyncio.Server:
    """A two-route HTTP server: `/healthz` and `/readyz`."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request_line = (await reader.readline()).decode("latin-1").split()
            while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                pass
            path = request_line[1] if len(request_line) > 1 else ""
            if path == "/healthz":
                status, body = 200, {"status": "ok"}
            elif path == "/readyz":
                ok = consumer.ready()
                status, body = (200, {"status": "ready"}) if ok else (503, {"status": "no partitions assigned"})
            else:
                status, body = 404, {"status": "not found"}
            payload = json.dumps({**body, **vars(consumer.counts)}).encode()
            reason = {200: "OK", 404: "Not Found", 503: "Service Unavailable"}[status]
            head = (
                f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n"
            )
            writer.write(head.encode() + payload)
            await writer.drain()
        finally:
            writer.close()

    return await asyncio.start_server(handle, host, port)


async def run(settings: FeatureRepoSettings, store: FeatureStore, bootstrap_servers: str) -> None:
    consumer = PushConsumer(settings, store, bootstrap_servers)
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    await ensure_topics(bootstrap_servers)
    await consumer.start()
    server = await _serve_health(consumer, settings.host, settings.push_port)
    log.info("pushing %s into %s (group %s)", VELOCITY.name, settings.root, settings.push_group_id)
    try:
        while not stopping.is_set():
            await consumer.run_once()
    finally:
        server.close()
        await consumer.stop()


def check_repo(store: FeatureStore) -> None:
    """Stop at start, named, when the registry lacks the push sources (`apply` not run)."""
    for name in VELOCITY_PUSH_SOURCES.values():
        try:
            store.get_data_source(name)
        except Exception as exc:  # Feast raises its own not-found type per registry backend
            raise ConfigurationError(
                f"push source {name!r} is not in the registry of {store.repo_path}: run `feature-repo apply` first"
                f" ({type(exc).__name__})"
            ) from exc


def main() -> int:
    try:
        settings = load_settings()
        if not settings.kafka_bootstrap_servers:
            raise ConfigurationError(f"{ENV_PREFIX}KAFKA_BOOTSTRAP_SERVERS is required by the push consumer")
        logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
        store = open_store(settings)
        check_repo(store)
    except ConfigurationError as error:
        print(error, file=sys.stderr)
        return 2
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run(settings, store, settings.kafka_bootstrap_servers))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
