"""The worker's Kafka producer, connected in the background.

A broker that cannot be reached when the worker starts does not stop it: the worker polls
Temporal and decides payments (inference, store) meanwhile. Connecting is retried with backoff
(0.5 s doubling to 30 s), each failure logged as a warning naming the brokers; `/readyz` answers
503 with the reason until connected; a publish before then fails its activity with a retryable
error, so Temporal retries it until the broker answers. Nothing is dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

from aiokafka import AIOKafkaProducer  # type: ignore[import-untyped]  # no py.typed
from aiokafka.errors import KafkaError  # type: ignore[import-untyped]  # no py.typed

log = logging.getLogger("orchestrator.publisher")

CONNECT_RETRY_INITIAL_SECONDS = 0.5
CONNECT_RETRY_MAX_SECONDS = 30.0


class KafkaNotConnectedError(Exception):
    """A publish before the producer could connect: retryable (Temporal retries the activity)."""


class KafkaPublisher:
    """An idempotent producer (acks=all) that connects in the background; `async with` starts
    the connecting and stops the producer."""

    def __init__(self, bootstrap_servers: str) -> None:
        self.bootstrap_servers = bootstrap_servers
        self._producer: AIOKafkaProducer | None = None
        self._error = "not connected yet"
        self._connecting: asyncio.Task[None] | None = None

    async def __aenter__(self) -> KafkaPublisher:
        self._connecting = asyncio.create_task(self._connect(), name="kafka-connect")
        return self

    async def __aexit__(self, *_: object) -> None:
        if self._connecting is not None:
            self._connecting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._connecting
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None

    def ready(self) -> tuple[bool, str]:
        if self._producer is None:
            return False, f"Kafka at {self.bootstrap_servers} unreachable: {self._error}"
        return True, "connected"

    async def _connect(self) -> None:
        delay = CONNECT_RETRY_INITIAL_SECONDS
        while True:
            producer: AIOKafkaProducer | None = None
            try:
                # Built inside the try: a constructor error is logged and retried like a failed start.
                producer = AIOKafkaProducer(
                    bootstrap_servers=self.bootstrap_servers, acks="all", enable_idempotence=True, linger_ms=0
                )
                await producer.start()
            except Exception as error:  # noqa: BLE001  # logged, kept for /readyz, retried
                # Not only KafkaError: an OSError or anything else aiokafka lets through would
                # otherwise end this task silently and leave the worker unready for good.
                if producer is not None:
                    with contextlib.suppress(Exception):  # the failed start's leftovers; the error is kept
                        await producer.stop()
                # aiokafka's text starts with the error's class name already; others get theirs.
                if isinstance(error, KafkaError):
                    self._error = str(error) or type(error).__name__
                else:
                    self._error = f"{type(error).__name__}: {error}"
                log.warning(
                    "Kafka at %s unreachable (%s): decisions wait to be published; retrying in %.1f s",
                    self.bootstrap_servers,
                    self._error,
                    delay,
                )
                await asyncio.sleep(delay)  # backoff between connection attempts
                delay = min(delay * 2, CONNECT_RETRY_MAX_SECONDS)
                continue
            self._producer = producer
            log.info("connected to Kafka at %s", self.bootstrap_servers)
            return

    async def send_and_wait(
        self, topic: str, value: bytes, key: bytes | None = None, headers: Sequence[tuple[str, bytes]] | None = None
    ) -> None:
        if self._producer is None:
            raise KafkaNotConnectedError(f"Kafka at {self.bootstrap_servers} unreachable: {self._error}")
        await self._producer.send_and_wait(topic, value, key=key, headers=list(headers) if headers else None)
