"""Run an agent over its stream in batches, acknowledging a batch only once its outputs are."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from faust.types import EventT, StreamT

if TYPE_CHECKING:
    from normalizer.app import Normalizer

log = logging.getLogger(__name__)


async def run_batches(
    normalizer: Normalizer,
    stream: StreamT[bytes],
    handle: Callable[[list[EventT[bytes]]], Awaitable[list[Awaitable[Any]]]],
    name: str,
) -> None:
    """Handle the stream in batches (the settings' size and time); acknowledge a batch's events once
    all its outputs are. A failure stops the worker, as in the provider agents: a new process
    resumes from the committed offsets."""
    settings = normalizer.settings
    try:
        async for events in stream.noack().take_events(  # type: ignore[attr-defined]  # Stream has it
            settings.batch_size, within=settings.batch_seconds
        ):
            await asyncio.gather(*await handle(events))
            for event in events:
                await stream.ack(event)
    except Exception as exc:
        log.exception("the %s agent failed; stopping the worker", name)
        normalizer.fail(f"{name} agent failed: {type(exc).__name__}")
        await normalizer.app.crash(exc)
        raise
