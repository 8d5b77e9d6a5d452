"""A stand-in for Kafka in unit tests (the real broker is exercised in tests/integration)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from gateway.errors import BrokerUnavailableError
from gateway.publisher import Message


class RecordingPublisher:
    """Stands in for Kafka in unit tests: records what would be published, or fails like a broker
    that is down. The real broker is exercised in tests/integration."""

    def __init__(self) -> None:
        self.published: list[Message] = []
        self.available = True
        self.started = False

    async def start(self) -> None:
        self.started = True

    async def stop(self) -> None:
        self.started = False

    async def publish(self, messages: Sequence[Message]) -> None:
        await asyncio.sleep(0)
        if not self.available:
            raise BrokerUnavailableError("broker down (test)", retry_after=7)
        self.published.extend(messages)

    async def ready(self) -> bool:
        return self.available
