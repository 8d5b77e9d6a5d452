"""One agent per provider topic: map, dedupe, publish, and only then let the offset be committed.

Per message: decode the envelope, drop it if its provider event id was seen within the window,
map it, and send the `NormalizedEvent` (keyed by payment id) or a `DeadLetter`. Messages are
handled in batches; a batch's events are acknowledged to Faust (which commits their offsets) only
after the broker acknowledged every output of the batch, and after that the dedupe marks of the
batch are written to the table's changelog and acknowledged too. A crash anywhere before that
leaves the offsets uncommitted: the messages come again, and whatever did reach the changelog
drops them as duplicates.

The Stripe agent has one more output per event: the fact of its payment's merchant for a
normalized charge or PaymentIntent, or, for a refund or dispute that names no merchant, the orphan the lookup maps
(`normalizer.stripe_merchants`), both on `<app_id>-stripe-payments` and acknowledged with the batch.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from faust.types import EventT, StreamT

from contracts.reference.providers import Provider
from contracts.schemas.normalized_event import SourcePosition
from contracts.topics import DLQ, NORMALIZED
from normalizer import stripe_merchants
from normalizer.dlq import dead_letter, worker_name
from normalizer.mapping import Ignored, MappingError, MerchantUnknown, decode, map_envelope
from normalizer.tables import dedupe_key, seen_within

if TYPE_CHECKING:
    from normalizer.app import Normalizer

log = logging.getLogger(__name__)


@dataclass
class Batch:
    """Events handled but not yet acknowledged, the outputs they are waiting for, their dedupe marks."""

    events: list[EventT[bytes]] = field(default_factory=list)
    outputs: list[Awaitable[Any]] = field(default_factory=list)
    marks: dict[str, tuple[int, float]] = field(default_factory=dict)
    """dedupe key -> (source partition, first-seen timestamp)."""


class ProviderAgent:
    """The work of one provider's agent; `run` is what Faust runs over the topic's stream."""

    def __init__(self, normalizer: Normalizer, provider: Provider) -> None:
        self.normalizer = normalizer
        self.provider = provider
        self.window = float(normalizer.settings.dedupe_window_seconds)
        self.batch_size = normalizer.settings.batch_size
        self.batch_seconds = normalizer.settings.batch_seconds
        self.worker = worker_name(normalizer.settings.app_id, provider)
        self.stripe = provider is Provider.STRIPE
        self.stripe_payments = normalizer.stripe_payments.get_topic_name()
        self._batch = Batch()
        self._lock = asyncio.Lock()
        self._in_flight: asyncio.Task[None] | None = None
        """The previous batch, awaiting its acknowledgements while the next one is mapped."""
        self._in_flight_marks: dict[str, tuple[int, float]] = {}
        """The dedupe marks of the in-flight batch, taken back from memory if it never completes."""

    async def run(self, stream: StreamT[bytes]) -> None:
        # The outputs exist before the first send (Faust declares only the topics it reads).
        await self.normalizer.normalized.maybe_declare()
        await self.normalizer.dlq.maybe_declare()
        if self.stripe:
            await self.normalizer.stripe_payments.maybe_declare()
        unacked = stream.noack()  # type: ignore[attr-defined]  # Stream has it, StreamT does not declare it
        flusher = asyncio.create_task(self._flush_when_idle(stream))
        try:
            async for event in unacked.events():
                await self.handle(event)
                if len(self._batch.events) >= self.batch_size:
                    await self.flush(stream)
        except Exception as exc:
            # Not a mapping error (those are dead-lettered in `handle`): the producer gave up (a
            # long broker outage) or a bug. Faust would restart this agent in place, over a stream
            # whose unacknowledged messages it does not deliver again; stop the whole worker
            # instead, so that a new process starts from the committed offsets, and say so on
            # /readyz meanwhile.
            log.exception("the %s agent failed; stopping the worker", self.provider.value)
            self.normalizer.fail(f"{self.provider.value} agent failed: {type(exc).__name__}")
            await self.normalizer.app.crash(exc)
            raise
        finally:
            flusher.cancel()
            self.abandon()

    def abandon(self) -> None:
        """Forget the batches that were not acknowledged: they come again from the committed offsets.

        Cancels the in-flight batch, empties the open one, and takes their dedupe marks back out
        of the table's memory, so that a message delivered again is not dropped as a duplicate of
        an output that was never confirmed."""
        unconfirmed = [self._batch.marks]
        if self._in_flight is not None:
            done = self._in_flight.done() and not self._in_flight.cancelled()
            if not done or self._in_flight.exception() is not None:
                unconfirmed.append(self._in_flight_marks)
            self._in_flight.cancel()
        table = self.normalizer.dedupe.data
        for marks in unconfirmed:
            for key, (_, at) in marks.items():
                if table.get(key) == at:
                    del table[key]
        self._in_flight = None
        self._in_flight_marks = {}
        self._batch = Batch()

    async def _flush_when_idle(self, stream: StreamT[bytes]) -> None:
        """Flush a batch that stopped growing; a failed flush stops the worker, uncommitted."""
        while True:
            await asyncio.sleep(self.batch_seconds)  # the batching interval, not a readiness wait
            await self.flush(stream, behind_in_flight=False)

    def busy(self) -> bool:
        """A batch is filling or waiting for its acknowledgements."""
        return bool(self._batch.events) or (self._in_flight is not None and not self._in_flight.done())

    async def handle(self, event: EventT[bytes]) -> None:
        message = event.message
        self.normalizer.progress.received(message.tp)
        source = SourcePosition(topic=message.topic, partition=message.partition, offset=message.offset)
        value: bytes | None = message.value
        try:
            envelope = decode(self.provider, value)
            key = dedupe_key(self.provider, envelope.provider_event_id)
            timestamp = float(message.timestamp)
            if seen_within(self.normalizer.dedupe, key, timestamp, self.window):
                self.normalizer.metrics.count(self.provider.value, "duplicate")
                self._batch.events.append(event)
                return
            normalized = map_envelope(self.provider, envelope, source)
        except MerchantUnknown as unknown:  # a Stripe refund or dispute: the lookup maps it
            try:
                orphan = stripe_merchants.orphan(unknown.payment, source, message.key, value or b"")
            except MappingError as exc:  # too large for the lookup's topic
                await self._dead_letter(event, source, exc)
                return
            await self._output(event, key, timestamp, await self.normalizer.send(self.stripe_payments, *orphan))
            self.normalizer.metrics.count(stripe_merchants.METRIC, "forwarded")
            return
        except MappingError as exc:
            await self._dead_letter(event, source, exc)
            return
        except Ignored as skip:  # no output: acknowledged with its batch, counted
            self._batch.events.append(event)
            self.normalizer.metrics.count(self.provider.value, "ignored")
            log.debug("ignored %s: %s", source, skip)
            return
        output = await self.normalizer.send(
            NORMALIZED.name, normalized.payment_id.encode(), normalized.model_dump_json().encode()
        )
        fact = stripe_merchants.fact(envelope, normalized) if self.stripe else None
        if fact is not None:  # a payment's own event: its merchant for its refunds and disputes
            self._batch.outputs.append(await self.normalizer.send(self.stripe_payments, *fact))
        await self._output(event, key, timestamp, output)
        self.normalizer.metrics.count(self.provider.value, "normalized")

    async def _output(self, event: EventT[bytes], key: str, timestamp: float, output: Awaitable[Any]) -> None:
        """Add an event with its output to the batch, and mark it seen. Marked at once, so that a copy
        later in this batch is dropped; written to the changelog once the output is acknowledged (a
        crash before that leaves the offset uncommitted)."""
        self.normalizer.dedupe.data[key] = timestamp
        self._batch.outputs.append(output)
        self._batch.marks[key] = (event.message.partition, timestamp)
        self._batch.events.append(event)

    async def _dead_letter(self, event: EventT[bytes], source: SourcePosition, exc: MappingError) -> None:
        message = event.message
        letter = dead_letter(source, message.key, message.value, exc.reasons, worker=self.worker)
        output = await self.normalizer.send(DLQ.name, message.key, letter.model_dump_json().encode())
        self._batch.outputs.append(output)
        self._batch.events.append(event)
        self.normalizer.metrics.count(self.provider.value, "dead_lettered")
        log.info("dead-lettered %s: %s", source, exc)

    async def flush(self, stream: StreamT[bytes], *, behind_in_flight: bool = True) -> None:
        """Hand the batch over to be completed, and go on mapping the next one meanwhile.

        One batch at most awaits its acknowledgements while the next is mapped: a full batch waits
        for the previous one to complete first, so events are acknowledged in order and the
        producer's round trips overlap the mapping instead of stopping it. The timer's flush
        (`behind_in_flight=False`) leaves the batch open while another is in flight: queued behind
        it, the agent loop would go on mapping (and sending) a third batch, and a crash could then
        re-emit three batches per agent instead of the two the crash window allows."""
        async with self._lock:
            if not behind_in_flight and self._in_flight is not None and not self._in_flight.done():
                return  # the next tick, or the loop's own flush of a full batch, hands it over
            batch, self._batch = self._batch, Batch()
            if not batch.events:
                return
            if self._in_flight is not None:
                await self._in_flight  # raises if the previous batch failed (the worker is stopping)
            self._in_flight = asyncio.create_task(self._complete(batch, stream))
            self._in_flight_marks = batch.marks

    async def _complete(self, batch: Batch, stream: StreamT[bytes]) -> None:
        """Await the batch's outputs, then write and await its dedupe marks, then acknowledge its
        events. A send the producer gave up on stops the worker with the batch unacknowledged."""
        try:
            started = time.perf_counter()
            await asyncio.gather(*batch.outputs)
            table = self.normalizer.dedupe
            # The table's own encoding (json key and value), so that recovery reads the marks back.
            changelog = table.changelog_topic.get_topic_name()
            marks = [
                await self.normalizer.send(changelog, json.dumps(key).encode(), json.dumps(at).encode(), partition)
                for key, (partition, at) in batch.marks.items()
            ]
            await asyncio.gather(*marks)
            progress = self.normalizer.progress
            for event in batch.events:
                await stream.ack(event)
                progress.acknowledged(event.message.tp, event.message.offset)
            self.normalizer.metrics.batch_acknowledged(time.perf_counter() - started)
        except Exception as exc:
            log.exception("outputs of a %s batch were not acknowledged; stopping", self.provider.value)
            self.normalizer.fail(f"{self.provider.value} batch not acknowledged: {type(exc).__name__}")
            await self.normalizer.app.crash(exc)
            raise


def install(normalizer: Normalizer) -> dict[Provider, ProviderAgent]:
    """One agent per provider topic, each its own consumer of its topic's partitions."""
    workers: dict[Provider, ProviderAgent] = {}
    for provider, topic in normalizer.inputs.items():
        worker = ProviderAgent(normalizer, provider)
        normalizer.app.agent(topic, name=f"normalize_{provider.value}")(worker.run)
        workers[provider] = worker
    return workers
