"""Streaming velocity features: per customer and per card, published as `VelocityFeatures`.

All seven short-window `FraudFeatures` (`contracts.schemas.velocity.VELOCITY_FEATURES`): per
customer `customer_txn_count_1h`, `customer_txn_count_24h`, `customer_amount_usd_24h`,
`customer_distinct_cards_7d`; per card `card_txn_count_1h`, `card_distinct_merchants_24h`,
`card_decline_count_24h`. The feature repo serves them in `fraud_v1` from the `customer_velocity`
and `card_velocity` views, whose online values these records overwrite.

Two agents, because the features are keyed by entity while `payments.normalized.v1` is keyed by
payment id (one customer's payments are spread over all partitions):

1. `velocity_fanout` reads the normalized events and, for every `payment.*` event, sends one
   mark per entity (customer, card) to the internal topic `<app_id>-velocity-entities`, keyed by
   the entity: every mark of one entity then lands in one partition, whoever produced it.
2. `velocity` reads that topic, keeps each entity's recent attempts and declines in the
   `velocity` table (its changelog is co-partitioned with the internal topic) and publishes the
   entity's features as of the event's time on `features.velocity.v1`.

Why a table of recent attempts and not Faust's windowed tables: a Faust window is fixed to the
epoch (tumbling) or to a step grid (hopping), so "the attempts in `[t - 1 h, t)`" for an event
at any `t` would need one hopping window per possible step (1 s steps: 86,400 windows for 24 h),
and Faust's window ranges include their start and their end; nor can a windowed counter answer
"distinct merchants". The table holds, per entity, `payment_id -> (attempt time, amount_usd,
merchant, card)` and `decline event id -> decline time` for the entity's longest window (customer
7 days, card 24 hours) plus the allowed lateness, behind its newest attempt or decline; older
entries are dropped as new ones arrive, so an entity's state never outgrows its windows. A
window is then a filter on the event time, exact at both edges, in any arrival order.

Semantics (those of the warehouse's `fraud_features`, see `contracts.schemas.velocity`): an
attempt is a payment, once, at its earliest `payment.*` event and with that event's amount,
merchant and card, so a redelivered event (same event id) or a later event of the same payment
(capture, failure) never counts twice; a decline is a `payment.failed` event (once per event id)
at its own time; the window as of `t` excludes `t` itself.

Delivery: like the provider agents, a batch's events are acknowledged only after the broker
acknowledged every output of the batch (marks, features, table changelog records, dead letters);
the table's changelog is written explicitly with the outputs, so a restart restores exactly
what was acknowledged. Outputs are idempotent: a replay recomputes the same records.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from uuid import UUID

import faust
from aiokafka.partitioner import murmur2  # type: ignore[import-untyped]  # no py.typed
from faust.types import EventT, StreamT
from pydantic import ValidationError

from contracts.reference.fx import NoFxRateError, amount_usd
from contracts.schemas.dlq import RejectReason
from contracts.schemas.normalized_event import EventType, NormalizedEvent, SourcePosition
from contracts.schemas.velocity import (
    LONGEST_ENTITY_WINDOW,
    VELOCITY_ENTITIES,
    VELOCITY_FEATURES,
    VelocityEntity,
    VelocityFeatures,
    velocity_features,
    velocity_key,
)
from contracts.topics import DLQ, NORMALIZED, VELOCITY
from normalizer.dlq import dead_letter

if TYPE_CHECKING:
    from normalizer.app import Normalizer

log = logging.getLogger(__name__)

TABLE_NAME = "velocity"
VELOCITY_PARTITIONS = NORMALIZED.partitions
"""Of the internal topic of entity marks, and so of the velocity table's changelog."""
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)

State = dict[str, Any]
"""An entity's table value (JSON): `{"attempts": {payment_id: [attempt time in epoch microseconds,
amount_usd as a decimal string, merchant_id, card fingerprint]}, "declines": {event_id: decline
time in epoch microseconds}}`. A value written before contracts 1.4.0 is `{payment_id: [time,
amount]}` (no merchant, card or declines): it still reads, as attempts without them."""

DECLINE_ENTITIES: frozenset[VelocityEntity] = frozenset(
    f.entity for f in VELOCITY_FEATURES if f.measure == "decline_count"
)
"""Entities whose state keeps declines (the card: `card_decline_count_24h`)."""


def epoch_us(moment: datetime) -> int:
    """Exact integer microseconds since the epoch (no float rounding at the window edges)."""
    return (moment - EPOCH) // MICROSECOND


def keep_for(entity: VelocityEntity, lateness: timedelta) -> timedelta:
    """How long an entity's attempts and declines are kept behind its newest one: its longest
    window (customer 7 days, card 24 hours) plus the allowed lateness."""
    return LONGEST_ENTITY_WINDOW[entity] + lateness


@dataclass(frozen=True)
class Mark:
    """One payment event of one entity, as it travels on the internal topic."""

    entity: VelocityEntity
    entity_id: str
    event_id: UUID
    payment_id: str
    at_us: int
    amount_usd: Decimal
    merchant_id: str | None = None
    card: str | None = None
    """The event's card fingerprint (whatever the entity: a customer counts its distinct cards)."""
    declined: bool = False
    """A `payment.failed` event: a decline of the card, at `at_us`."""

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
            "merchant_id": self.merchant_id,
            "card": self.card,
            "declined": self.declined,
        }
        return json.dumps(document).encode()

    @classmethod
    def loads(cls, data: bytes) -> Mark:
        """A mark; one written before contracts 1.4.0 (no merchant, card, decline) reads too."""
        document = json.loads(data)
        return cls(
            entity=document["entity"],
            entity_id=document["entity_id"],
            event_id=UUID(document["event_id"]),
            payment_id=document["payment_id"],
            at_us=int(document["at_us"]),
            amount_usd=Decimal(document["amount_usd"]),
            merchant_id=document.get("merchant_id"),
            card=document.get("card"),
            declined=bool(document.get("declined", False)),
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
    card = event.card.fingerprint if event.card else None
    entities: list[tuple[VelocityEntity, str | None]] = [("customer", event.customer_id), ("card", card)]
    at = epoch_us(event.occurred_at)
    declined = event.event_type is EventType.PAYMENT_FAILED
    return [
        Mark(entity, entity_id, event.event_id, event.payment_id, at, usd, event.merchant_id, card, declined)
        for entity, entity_id in entities
        if entity_id
    ]


def _parts(state: Mapping[str, Any] | None) -> tuple[dict[str, list[Any]], dict[str, int]]:
    """(attempts, declines) of a table value, copied; a pre-1.4 value has attempts only."""
    if not state:
        return {}, {}
    if isinstance(state.get("attempts"), dict):
        attempts = {payment: list(entry) for payment, entry in state["attempts"].items()}
        return attempts, {event: int(at) for event, at in state.get("declines", {}).items()}
    return {payment: [*entry[:2], None, None] for payment, entry in state.items()}, {}


def remember(state: Mapping[str, Any] | None, mark: Mark, keep: timedelta) -> State:
    """The entity's state with `mark` in it, trimmed to `keep` before its newest attempt or decline.

    The payment's attempt is its earliest event (its time, amount, merchant and card); a decline
    is kept by event id (a `payment.failed` event redelivered counts once). Remembering a mark
    again changes nothing."""
    attempts, declines = _parts(state)
    known = attempts.get(mark.payment_id)
    if known is None or mark.at_us < int(known[0]):
        attempts[mark.payment_id] = [mark.at_us, str(mark.amount_usd), mark.merchant_id, mark.card]
    if mark.declined and mark.entity in DECLINE_ENTITIES:
        declines.setdefault(str(mark.event_id), mark.at_us)
    newest = max([int(entry[0]) for entry in attempts.values()] + list(declines.values()))
    horizon = newest - keep // MICROSECOND
    return {
        "attempts": {payment: entry for payment, entry in attempts.items() if int(entry[0]) >= horizon},
        "declines": {event: at for event, at in declines.items() if at >= horizon},
    }


def features_as_of(state: Mapping[str, Any] | None, entity: VelocityEntity, as_of_us: int) -> dict[str, float]:
    """Every feature of `entity` over what happened in `[as_of - window, as_of)`."""
    attempts, declines = _parts(state)
    values: dict[str, float] = {}
    for feature in VELOCITY_FEATURES:
        if feature.entity != entity:
            continue
        start = as_of_us - feature.window // MICROSECOND
        inside = [entry for entry in attempts.values() if start <= int(entry[0]) < as_of_us]
        if feature.measure == "txn_count":
            value = float(len(inside))
        elif feature.measure == "amount_usd":
            value = float(sum((Decimal(entry[1]) for entry in inside), Decimal(0)))
        elif feature.measure == "distinct_merchants":
            value = float(len({entry[2] for entry in inside if entry[2] is not None}))
        elif feature.measure == "distinct_cards":
            value = float(len({entry[3] for entry in inside if entry[3] is not None}))
        else:  # decline_count
            value = float(sum(1 for at in declines.values() if start <= at < as_of_us))
        values[feature.name] = value
    return values


def newest_us(state: Mapping[str, Any] | None) -> int | None:
    """Time of the entity's newest attempt or decline, None for an empty state."""
    attempts, declines = _parts(state)
    times = [int(entry[0]) for entry in attempts.values()] + list(declines.values())
    return max(times) if times else None


def entity_partition(key: str, partitions: int) -> int:
    """An entity's partition of the internal topic, and so of the table's changelog: Kafka's default
    partitioner (murmur2 of the key), stated here so that the fan-out and the sweep agree."""
    partition: int = (murmur2(key.encode()) & 0x7FFFFFFF) % partitions
    return partition


def expired(
    states: Iterable[tuple[str, Mapping[str, Any] | None]],
    watermarks: Mapping[int, int],
    keep: Mapping[VelocityEntity, timedelta],
    partitions: int,
) -> list[str]:
    """Entities whose every attempt and decline fell out of their longest window plus the lateness,
    as of their partition's watermark (the newest event time handled there): no event that may
    still arrive can count any of them. Entities of a partition without a watermark stay."""
    gone = []
    for key, state in states:
        watermark = watermarks.get(entity_partition(key, partitions))
        newest = newest_us(state)
        entity: VelocityEntity = "customer" if key.startswith("customer:") else "card"
        if watermark is not None and (newest is None or newest < watermark - keep[entity] // MICROSECOND):
            gone.append(key)
    return gone


def record_for(state: Mapping[str, Any], mark: Mark) -> VelocityFeatures:
    as_of = EPOCH + mark.at_us * MICROSECOND
    values = features_as_of(state, mark.entity, mark.at_us)
    return velocity_features(mark.entity, mark.entity_id, as_of, mark.event_id, mark.payment_id, values)


def create_velocity_table(app: faust.App, partitions: int) -> faust.Table[str, State]:
    table: faust.Table[str, State] = app.Table(  # type: ignore[assignment]  # Faust types it as TableT
        TABLE_NAME,
        default=None,
        key_type=str,
        partitions=partitions,
        help="entity (customer:<id> / card:<fingerprint>) -> its recent attempts and declines",
    )
    return table


class VelocityAgents:
    """The fan-out and the feature agents of one worker."""

    def __init__(self, normalizer: Normalizer) -> None:
        self.normalizer = normalizer
        settings = normalizer.settings
        lateness = timedelta(seconds=settings.velocity_lateness_seconds)
        self.keep = {entity: keep_for(entity, lateness) for entity in VELOCITY_ENTITIES}
        self.batch_size = settings.batch_size
        self.batch_seconds = settings.batch_seconds
        self.worker = f"{settings.app_id}-velocity"
        self.watermarks: dict[int, int] = {}
        """Partition of the internal topic -> newest event time (epoch microseconds) handled there."""
        self._state = asyncio.Lock()
        """Held by a feature update (read, change, write, changelog send) and by a whole sweep, so
        that a sweep never deletes, nor tombstones, a state updated after it judged it expired."""

    async def _send(
        self, topic: str, key: bytes | None, value: bytes | None, partition: int | None = None
    ) -> Awaitable[Any]:
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
        return [
            await self._send(topic, mark.key.encode(), mark.dumps(), entity_partition(mark.key, VELOCITY_PARTITIONS))
            for mark in marks
        ]

    async def features(self, stream: StreamT[bytes]) -> None:
        await self._batches(stream, self._features, "velocity")

    async def _features(self, event: EventT[bytes]) -> list[Awaitable[Any]]:
        message = event.message
        mark = Mark.loads(message.value or b"")
        table = self.normalizer.velocity
        async with self._state:
            state = remember(table.data.get(mark.key), mark, self.keep[mark.entity])
            table.data[mark.key] = state
            record = record_for(state, mark)
            self.watermarks[message.partition] = max(mark.at_us, self.watermarks.get(message.partition, mark.at_us))
            changelog = table.changelog_topic.get_topic_name()
            self.normalizer.metrics.count("velocity", "published")
            return [
                await self._send(
                    changelog, json.dumps(mark.key).encode(), json.dumps(state).encode(), message.partition
                ),
                await self._send(VELOCITY.name, record.key().encode(), record.model_dump_json().encode()),
            ]

    async def sweep(self) -> int:
        """Drop the entities of this worker's partitions that `expired`: out of memory, and out of
        the changelog with a tombstone (so a restart does not bring them back). Bounds the table
        to the entities active within their longest window, however many were ever seen. A
        tombstone that is lost costs nothing: the next sweep after a restart drops the entity again."""
        internal = self.normalizer.velocity_entities.get_topic_name()
        owned = {tp.partition for tp in self.normalizer.app.assignor.assigned_actives() if tp.topic == internal}
        watermarks = {partition: at for partition, at in self.watermarks.items() if partition in owned}
        table = self.normalizer.velocity
        changelog = table.changelog_topic.get_topic_name()
        tombstones = []
        async with self._state:  # no update runs between judging an entity expired and its tombstone
            gone = expired(list(table.data.items()), watermarks, self.keep, VELOCITY_PARTITIONS)
            for key in gone:
                del table.data[key]
                partition = entity_partition(key, VELOCITY_PARTITIONS)
                tombstones.append(await self._send(changelog, json.dumps(key).encode(), None, partition))
        await asyncio.gather(*tombstones)
        if gone:
            self.normalizer.metrics.count("velocity", "expired", len(gone))
            log.info("velocity: %d entities expired", len(gone))
        return len(gone)


def install(normalizer: Normalizer) -> VelocityAgents:
    agents = VelocityAgents(normalizer)
    normalizer.app.agent(normalizer.normalized, name="velocity_fanout")(agents.fanout)
    normalizer.app.agent(normalizer.velocity_entities, name="velocity")(agents.features)
    normalizer.app.timer(normalizer.settings.velocity_sweep_seconds, name="velocity_sweep")(agents.sweep)
    return agents
