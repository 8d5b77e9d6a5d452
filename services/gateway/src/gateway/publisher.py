"""Publishing envelopes to Kafka and waiting for the broker's acknowledgement.

The producer is idempotent with `acks=all`, so a retried produce request never duplicates a
record. Concurrent webhooks share batches: each `send` lands in the partition's open batch and the
producer ships it after `linger_ms`, so one round trip acknowledges many webhooks.

If the broker cannot be reached at start the gateway still serves (health, metrics, and 503 for
webhooks, so providers retry) while a background task keeps connecting. A producer that fails with
an error it cannot retry (aiokafka's sender stops on a fatal idempotence error, such as an
out-of-order sequence number, and from then on fails every send) is replaced the same way, and
readiness reports it gone until the new one is connected.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import structlog
from aiokafka import AIOKafkaProducer  # type: ignore[import-untyped]  # no py.typed
from aiokafka.errors import (  # type: ignore[import-untyped]
    KafkaError,
    KafkaTimeoutError,
    MessageSizeTooLargeError,
)

from gateway.errors import BodyTooLargeError, BrokerUnavailableError
from gateway.partitioner import partition_for
from gateway.settings import GatewaySettings

log = structlog.get_logger("gateway.publisher")

RECONNECT_BACKOFF_SECONDS = (0.5, 1.0, 2.0, 5.0)
READINESS_TIMEOUT_SECONDS = 2.0


@dataclass(frozen=True, slots=True)
class Message:
    topic: str
    key: bytes
    value: bytes


@runtime_checkable
class Publisher(Protocol):
    """Where accepted webhooks go. `publish` returns only once every message is acknowledged."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def publish(self, messages: Sequence[Message]) -> None:
        """Raise `BrokerUnavailableError` unless every message was acknowledged."""
        ...

    async def ready(self) -> bool: ...


class KafkaPublisher:
    def __init__(self, settings: GatewaySettings) -> None:
        self._settings = settings
        self._producer: AIOKafkaProducer | None = None
        self._connector: asyncio.Task[None] | None = None
        self._stopping = False

    def _new_producer(self) -> AIOKafkaProducer:
        settings = self._settings
        timeout_ms = int(settings.publish_timeout_seconds * 1000)
        return AIOKafkaProducer(
            bootstrap_servers=settings.kafka_bootstrap_servers,
            client_id=settings.kafka_client_id,
            acks="all",
            enable_idempotence=True,
            linger_ms=settings.kafka_linger_ms,
            max_batch_size=settings.kafka_max_batch_bytes,
            max_request_size=settings.kafka_max_request_bytes,
            compression_type=settings.kafka_compression,
            # One produce request's deadline. With idempotence aiokafka never expires a batch in
            # flight, so an event answered 503 may still land later: the provider's retry is then
            # a duplicate, which consumers drop by provider_event_id.
            request_timeout_ms=timeout_ms,
            retry_backoff_ms=100,
            partitioner=partition_for,
        )

    async def start(self) -> None:
        """Connect now if the broker is there; otherwise keep trying in the background."""
        if not await self._connect_once():
            self._connector = asyncio.create_task(self._keep_connecting(), name="kafka-connect")

    async def _connect_once(self) -> bool:
        producer = self._new_producer()
        try:
            await asyncio.wait_for(producer.start(), timeout=self._settings.publish_timeout_seconds)
        except (KafkaError, OSError, TimeoutError) as exc:
            log.warning("kafka_unreachable", error=type(exc).__name__)
            with contextlib.suppress(Exception):
                await producer.stop()
            return False
        self._producer = producer
        log.info("kafka_connected", bootstrap_servers=self._settings.kafka_bootstrap_servers)
        return True

    async def _keep_connecting(self) -> None:
        attempt = 0
        while not self._stopping and self._producer is None:
            await asyncio.sleep(RECONNECT_BACKOFF_SECONDS[min(attempt, len(RECONNECT_BACKOFF_SECONDS) - 1)])
            attempt += 1
            await self._connect_once()

    async def stop(self) -> None:
        self._stopping = True
        if self._connector is not None:
            self._connector.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._connector
        if self._producer is not None:
            # Flushes what is in flight: nothing that a caller is still waiting on is dropped.
            await self._producer.stop()
            self._producer = None

    async def publish(self, messages: Sequence[Message]) -> None:
        producer = self._producer
        if producer is None:
            raise BrokerUnavailableError("not connected to Kafka", retry_after=self._settings.retry_after_seconds)
        try:
            async with asyncio.timeout(self._settings.publish_timeout_seconds):
                if len(messages) == 1:
                    message = messages[0]
                    future = await producer.send(message.topic, message.value, key=message.key)
                    await future
                else:
                    futures = [
                        await producer.send(message.topic, message.value, key=message.key) for message in messages
                    ]
                    await asyncio.gather(*futures)
        except MessageSizeTooLargeError as exc:
            # Retrying cannot help: the broker (or a topic) takes smaller messages than configured.
            log.error("publish_refused_too_large", messages=len(messages), sizes=[len(m.value) for m in messages])
            raise BodyTooLargeError(
                "the event is larger than Kafka accepts (GATEWAY_KAFKA_MAX_REQUEST_BYTES, message.max.bytes)"
            ) from exc
        except (KafkaError, TimeoutError) as exc:
            log.warning("publish_failed", error=type(exc).__name__, messages=len(messages))
            if isinstance(exc, KafkaError) and not exc.retriable and not isinstance(exc, KafkaTimeoutError):
                self._replace(producer, exc)  # it fails every send from now on (a timeout is an outage)
            raise BrokerUnavailableError(
                f"Kafka did not acknowledge ({type(exc).__name__})",
                retry_after=self._settings.retry_after_seconds,
            ) from exc

    def _replace(self, producer: AIOKafkaProducer, error: KafkaError) -> None:
        """Drop a producer that will fail every send from now on, and connect a new one."""
        if self._producer is not producer or self._stopping:
            return  # another request's failure replaced it already
        log.error("kafka_producer_replaced", error=type(error).__name__)
        self._producer = None

        async def reconnect() -> None:
            with contextlib.suppress(Exception):  # it is broken: stopping it may raise the same error
                await producer.stop()
            if not await self._connect_once():
                await self._keep_connecting()

        self._connector = asyncio.create_task(reconnect(), name="kafka-reconnect")

    async def ready(self) -> bool:
        """A metadata round trip to the broker, not just a cached view of it."""
        producer = self._producer
        if producer is None:
            return False
        try:
            await asyncio.wait_for(producer.client.fetch_all_metadata(), timeout=READINESS_TIMEOUT_SECONDS)
        except (KafkaError, OSError, TimeoutError):
            return False
        return True
