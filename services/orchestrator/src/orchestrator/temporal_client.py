"""The Temporal client both processes use: pydantic data converter, address from settings.

Temporal unreachable at start does not stop the process: connecting is retried with backoff
(0.5 s doubling to 30 s), each failure a warning naming the address, while `/readyz` answers
503 `connecting to Temporal` (like the worker's Kafka producer, `orchestrator.publisher`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError

from orchestrator.settings import OrchestratorSettings

log = logging.getLogger("orchestrator.temporal")

CONNECT_RETRY_INITIAL_SECONDS = 0.5
CONNECT_RETRY_MAX_SECONDS = 30.0


async def connect(settings: OrchestratorSettings, stop: asyncio.Event | None = None) -> Client | None:
    """Connect, retrying while Temporal cannot be reached; None if `stop` is set meanwhile."""
    delay = CONNECT_RETRY_INITIAL_SECONDS
    while True:
        try:
            return await Client.connect(
                settings.temporal_address,
                namespace=settings.temporal_namespace,
                data_converter=pydantic_data_converter,
            )
        except (RuntimeError, RPCError) as error:
            # RuntimeError: the SDK's "Failed client connect: ..." (refused, DNS, TLS, timeout).
            log.warning("Temporal at %s unreachable (%s); retrying in %.1f s", settings.temporal_address, error, delay)
        if stop is None:
            await asyncio.sleep(delay)  # backoff between connection attempts
        else:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
            if stop.is_set():
                return None
        delay = min(delay * 2, CONNECT_RETRY_MAX_SECONDS)
