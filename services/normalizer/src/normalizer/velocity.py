"""Streaming velocity features: per customer and per card, published as `VelocityFeatures`.

Two agents, because the features are keyed by entity while `payments.normalized.v1` is keyed by
payment id (one customer's payments are spread over all partitions):

1. `velocity_fanout` reads the normalized events and, for every `payment.*` event, sends one
   mark per entity (customer, card) to the internal topic `<app_id>-velocity-entities`, keyed by
   the entity: every mark of one entity then lands in one partition, whoever produced it.
2. `velocity` reads that topic, keeps each entity's recent attempts in the `velocity` table
   (its changelog is co-partitioned with the internal topic) and publishes the entity's features
   as of the event's time on `features.velocity.v1`.

Why a table of recent attempts and not Faust's windowed tables: a Faust window is fixed to the
epoch (tumbling) or to a step grid (hopping), so "the attempts in `[t - 1 h, t)`" for an event
at any `t` would need one hopping window per possible step (1 s steps: 86,400 windows for 24 h),
and Faust's window ranges include their start and their end. The table holds, per entity,
`payment_id -> (attempt time, amount_usd)` for the longest window plus the allowed lateness; a
window is then a filter on the event time, exact at both edges, in any arrival order.

Semantics (those of the warehouse's `fraud_features`, see `contracts.schemas.velocity`): an
attempt is a payment, once, at its earliest `payment.*` event and with that event's amount, so a
redelivered event (same event id) or a later event of the same payment (capture, failure) never
counts twice; the window as of `t` excludes `t` itself.

Delivery: like the provider agents, a batch's events are acknowledged only after the broker
acknowledged every output of the batch (marks, features, table changelog records, dead letters);
the table's changelog is written explicitly with the outputs, so a restart restores exactly
what was acknowledged. Outputs are idempotent: a replay recomputes the same records.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from uuid import UUID

import faust
from faust.types import EventT, StreamT
from pydantic import ValidationError

from contracts.reference.fx import NoFxRateError, amount_usd
from contracts.schemas.dlq import RejectReason
from contracts.schemas.normalized_event import NormalizedEvent, SourcePosition
from contracts.schemas.velocity import (
    LONGEST_VELOCITY_WINDOW,
    VELOCITY_FEATURES,
    VelocityEntity,
    VelocityFeatures,
    velocity_features,
    velocity_key,
)
from contracts.topics import DLQ, VELOCITY
from normalizer.dlq import dead_letter

if TYPE_CHECKING:
    from normalizer.app import Normalizer

log = logging.getLogger(__name__)

TABLE_NAME = "velocity"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)

Attempts = dict[str, list[Any]]
"""payment_id -> [attempt time in epoch microseconds, amount_usd as a decimal string] (JSON)."""


def epoch_us(moment: datetime) -> int:
    """Exact integer microseconds since the epoch (no float rounding at the window edges)."""
    return (moment - EPOCH) // MICROSECOND


@dataclass(frozen=True)
class Mark:
    """One attempt of one entity, as it travels on the internal topic."""

    entity: VelocityEntity
    entity_id: str
    event_id: UUID
    payment_id: str
    at_us: int
    amount_usd: Decimal

    @property
    def key(self) -> str:
        return velocity_key(self.entity, self.entity_id)

    def dumps(self) -> bytes:
        document = {
            "entity": self.entity,
            "entity_id": self.entity_id,
            "event_id": str(self.event_id),
            "payment_id": self.payment_id,
            "at_us": self.at_us,
            "amount_usd": str(self.amount_usd),
        }
        return json.dumps(document).encode()

    @classmethod
    def loads(cls, data: bytes) -> Mark:
        document = json.loads(data)
        return cls(
            entity=document["entity"],
            entity_id=document["entity_id"],
            event_id=UUID(document["event_id"]),
            payment_id=document["payment_id"],
            at_us=int(document["at_us"]),
            amount_usd=Decimal(document["amount_usd"]),
        )


class UnusableEventError(ValueError):
    """A normalized event the features cannot use (undecodable, or no FX rate): dead-lettered."""

    def __init__(self, reasons: Sequence[RejectReason]) -> None:
        super().__init__("; ".join(f"{r.field}: {r.message}" for r in reasons))
        self.reasons = tuple(reasons)


def marks_for(value: bytes | None) -> list[Mark]:
    """The marks of one normalized event: one per entity it names, none for a non-payment event."""
    try:
        event = NormalizedEvent.model_validate_json(value or b"")
    except ValidationError as exc:
        raise UnusableEventError(
            [
                RejectReason(field=".".join(map(str, e["loc"])) or "$", code=e["type"], message=e["msg"])
                for e in exc.errors()
            ]
        ) from None
    if not event.event_type.value.startswith("payment."):
        return []
    try:
        usd = amount_usd(event.amount_minor, event.currency)
    except NoFxRateError as exc:
        raise UnusableEventError([RejectReason(field="currency", code="no_fx_rate", message=str(exc))]) from None
    entities: list[tuple[VelocityEntity, str | None]] = [
        ("customer", event.customer_id),
        ("card", event.card.fingerprint if event.card else None),
    ]
    at = epoch_us(event.occurred_at)
    return [
        Mark(entity, entity_id, event.event_id, event.payment_id, at, usd)
        for entity, entity_id in entities
        if entity_id
    ]


def remember(attempts: Attempts | None, mark: Mark, keep: timedelta) -> Attempts:
    """The entity's attempts with `mark`'s payment (at its earliest time), trimmed to `keep`
    before the newest attempt. Remembering a payment again changes nothing."""
    result: Attempts = dict(attempts or {})
    known = result.get(mark.payment_id)
    if known is None or mark.at_us < int(known[0]):
        result[mark.payment_id] = [mark.at_us, str(mark.amount_usd)]
    horizon = max(int(at) for at, _ in result.values()) - keep // MICROSECOND
    return {payment: entry for payment, entry in result.items() if int(entry[0]) >= horizon}


def features_as_of(attempts: Mapping[str, Sequence[Any]], entity: VelocityEntity, as_of_us: int) -> dict[str, float]:
    """Every feature of `entity` over the attempts in `[as_of - window, as_of)`."""
    values: dict[str, float] = {}
    for feature in VELOCITY_FEATURES:
        if feature.entity != entity:
            continue
        start = as_of_us - feature.window // MICROSECOND
        inside = [Decimal(amount) for at, amount in attempts.values() if start <= int(at) < as_of_us]
        values[feature.name] = float(len(inside)) if feature.measure == "txn_count" else float(sum(inside, Decimal(0)))
    return values


def record_for(attempts: Mapping[str, Sequence[Any]], mark: Mark) -> VelocityFeatures:
    as_of = EPOCH + mark.at_us * MICROSECOND
    values = features_as_of(attempts, mark.entity, mark.at_us)
    return velocity_features(mark.entity, mark.entity_id, as_of, mark.event_id, mark.payment_id, values)


def create_velocity_table(app: faust.App, partitions: int) -> faust.Table[str, Attempts]:
    table: faust.Table[str, Attempts] = app.Table(  # type: ignore[assignment]  # Faust types it as TableT
        TABLE_NAME,
        default=None,
        key_type=str,
        partitions=partitions,
        help="entity (customer:<id> / card:<fingerprint>) -> its recent attempts",
    )
    return table


class VelocityAgents:
    """The fan-out and the feature agents of one worker."""

    def __init__(self, normalizer: Normalizer) -> None:
        self.normalizer = normalizer
        settings = normalizer.settings
        self.keep = LONGEST_VELOCITY_WINDOW + timedelta(seconds=settings.velocity_lateness_seconds)
        self.batch_size = settings.batch_size
        self.batch_seconds = settings.batch_seconds
        self.worker = f"{settings.app_id}-velocity"

    async def _send(self, topic: str, key: bytes | None, value: bytes, partition: int | None = None) -> Awaitable[Any]:
        """Hand a record to the producer; the future resolves on the broker's acknowledgement."""
        return await self.normalizer.app.producer.send(topic, key, value, partition, None, None)

    async def _batches(self, stream: StreamT[bytes], handle: Any, name: str) -> None:
        """Handle the stream in batches; acknowledge a batch's events once all its outputs are."""
        try:
            async for events in stream.noack().take_events(  # type: ignore[attr-defined]  # Stream has it
                self.batch_size, within=self.batch_seconds
            ):
                outputs: list[Awaitable[Any]] = []
                for event in events:
                    outputs.extend(await handle(event))
                await asyncio.gather(*outputs)
                for event in events:
                    await stream.ack(event)
        except Exception as exc:
            # As the provider agents: a new process resumes from the committed offsets.
            log.exception("the %s agent failed; stopping the worker", name)
            self.normalizer.fail(f"{name} agent failed: {type(exc).__name__}")
            await self.normalizer.app.crash(exc)
            raise

    async def fanout(self, stream: StreamT[bytes]) -> None:
        await self.normalizer.velocity_entities.maybe_declare()
        await self._batches(stream, self._fan, "velocity_fanout")

    async def _fan(self, event: EventT[bytes]) -> list[Awaitable[Any]]:
        message = event.message
        try:
            marks = marks_for(message.value)
        except UnusableEventError as exc:
            source = SourcePosition(topic=message.topic, partition=message.partition, offset=message.offset)
            letter = dead_letter(source, message.key, message.value, exc.reasons, worker=self.worker)
            log.info("velocity: dead-lettered %s: %s", source, exc)
            self.normalizer.metrics.count("velocity", "dead_lettered")
            return [await self._send(DLQ.name, message.key, letter.model_dump_json().encode())]
        topic = self.normalizer.velocity_entities.get_topic_name()
        return [await self._send(topic, mark.key.encode(), mark.dumps()) for mark in marks]

    async def features(self, stream: StreamT[bytes]) -> None:
        await self._batches(stream, self._features, "velocity")

    async def _features(self, event: EventT[bytes]) -> list[Awaitable[Any]]:
        message = event.message
        mark = Mark.loads(message.value or b"")
        table = self.normalizer.velocity
        attempts = remember(table.data.get(mark.key), mark, self.keep)
        table.data[mark.key] = attempts
        record = record_for(attempts, mark)
        changelog = table.changelog_topic.get_topic_name()
        self.normalizer.metrics.count("velocity", "published")
        return [
            await self._send(
                changelog, json.dumps(mark.key).encode(), json.dumps(attempts).encode(), message.partition
            ),
            await self._send(VELOCITY.name, record.key().encode(), record.model_dump_json().encode()),
        ]


def install(normalizer: Normalizer) -> VelocityAgents:
    agents = VelocityAgents(normalizer)
    normalizer.app.agent(normalizer.normalized, name="velocity_fanout")(agents.fanout)
    normalizer.app.agent(normalizer.velocity_entities, name="velocity")(agents.features)
    return agents
