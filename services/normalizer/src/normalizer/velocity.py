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
entries are dropped as new ones arrive, so an entity's state never outgrows its windows. The
payment event dated later than the wall clock plus a tolerance (a provider's clock, a bad year)
is dead-lettered by the fan-out (`occurred_at_in_future`) instead of entering a state: as an
entity's newest attempt it would trim every real attempt after it and keep the entity from being
swept; and the sweep's watermark (the newest event time per partition) is capped at the same
ceiling, so that no event can expire its partition's live entities. A window is then a filter on
the event time, exact at both edges, in any arrival order.

Semantics (those of the warehouse's `fraud_features`, see `contracts.schemas.velocity`): an
attempt is a payment, once, at its earliest `payment.*` event and with that event's amount,
merchant and card, so a redelivered event (same event id) or a later event of the same payment
(capture, failure) never counts twice; a decline is a `payment.failed` event (once per event id)
at its own time; the window as of `t` excludes `t` itself.

Delivery: like the provider agents, a batch's events are acknowledged only after the broker
acknowledged every output of the batch (marks, features, table changelog records, dead letters);
the table's changelog is written explicitly with the outputs (each entity a batch changed once,
with its state after the batch), so a restart restores what was acknowledged. Counts are
idempotent on a replay (attempts by payment, declines by event id); a replayed record may differ
from the first one only when a payment's events arrived out of order or entries were trimmed
beyond the lateness in between.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from uuid import UUID

import faust
import pydantic_core
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
from normalizer.batches import run_batches
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
        return pydantic_core.to_json(document)

    @classmethod
    def loads(cls, data: bytes) -> Mark:
        """A mark; one written before contracts 1.4.0 (no merchant, card, decline) reads too."""
        document = pydantic_core.from_json(data)
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


def marks_for(value: bytes | None, not_after_us: int | None = None) -> list[Mark]:
    """The marks of one normalized event: one per entity it names, none for a non-payment event.
    A payment event dated after `not_after_us` (the wall clock plus the future tolerance) is
    unusable: in an entity's state it would stand as its newest attempt until that date, trim
    every real attempt that follows and keep the entity from ever being swept."""
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
    if not_after_us is not None and at > not_after_us:
        ahead = timedelta(microseconds=at - not_after_us)
        raise UnusableEventError(
            [
                RejectReason(
                    field="occurred_at",
                    code="occurred_at_in_future",
                    message=f"{event.occurred_at.isoformat()} is {ahead} past the wall clock plus the future tolerance",
                )
            ]
        )
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


def _current(state: State | None) -> State:
    """`state` itself when it has the current shape (it is then changed in place), else a new
    state in that shape (empty, or converted from a pre-1.4 value)."""
    if state and isinstance(state.get("attempts"), dict):
        state.setdefault("declines", {})
        return state
    attempts, declines = _parts(state)
    return {"attempts": attempts, "declines": declines}


def remember(state: Mapping[str, Any] | None, mark: Mark, keep: timedelta) -> State:
    """The entity's state with `mark` in it, trimmed to `keep` before its newest attempt or decline.

    The payment's attempt is its earliest event (its time, amount, merchant and card); a decline
    is kept by event id (a `payment.failed` event redelivered counts once). Remembering a mark
    again changes nothing. `state` itself is left as it was (`remember_in_place` changes it)."""
    attempts, declines = _parts(state)
    return remember_in_place({"attempts": attempts, "declines": declines}, mark, keep // MICROSECOND)


def remember_in_place(state: State | None, mark: Mark, keep_us: int) -> State:
    """`remember`, changing `state` itself (a state in the current shape): the agent's path. The cost
    is one pass over the entity's entries (its newest time, what falls behind the horizon), with
    no copy and no rebuild unless something is trimmed."""
    state = _current(state)
    attempts: dict[str, list[Any]] = state["attempts"]
    declines: dict[str, int] = state["declines"]
    known = attempts.get(mark.payment_id)
    if known is None or mark.at_us < int(known[0]):
        attempts[mark.payment_id] = [mark.at_us, str(mark.amount_usd), mark.merchant_id, mark.card]
    if mark.declined and mark.entity in DECLINE_ENTITIES:
        declines.setdefault(str(mark.event_id), mark.at_us)
    times = [int(entry[0]) for entry in attempts.values()]
    newest = max(max(times), max(declines.values(), default=times[0]))
    horizon = newest - keep_us
    if min(times) < horizon:
        state["attempts"] = {payment: entry for payment, entry in attempts.items() if int(entry[0]) >= horizon}
    if declines and min(declines.values()) < horizon:
        state["declines"] = {event: at for event, at in declines.items() if at >= horizon}
    return state


_ENTITY_FEATURES: Mapping[VelocityEntity, tuple[tuple[str, str, int], ...]] = {
    entity: tuple((f.name, f.measure, f.window // MICROSECOND) for f in VELOCITY_FEATURES if f.entity == entity)
    for entity in VELOCITY_ENTITIES
}
"""(name, measure, window in microseconds) of each entity's features, in `VELOCITY_FEATURES` order."""


def features_as_of(state: Mapping[str, Any] | None, entity: VelocityEntity, as_of_us: int) -> dict[str, float]:
    """Every feature of `entity` over what happened in `[as_of - window, as_of)`."""
    if state and isinstance(state.get("attempts"), dict):  # read as it is, no copy
        attempts: Iterable[list[Any]] = state["attempts"].values()
        declines: Iterable[int] = state.get("declines", {}).values()
    else:
        legacy_attempts, legacy_declines = _parts(state)
        attempts, declines = legacy_attempts.values(), legacy_declines.values()
    features = _ENTITY_FEATURES[entity]
    longest = max(window for _, _, window in features)
    # (age, entry) of the attempts in [as_of - longest, as_of): an attempt is in a window w when
    # 0 < age <= w, i.e. as_of - w <= time < as_of.
    recent = [(as_of_us - int(entry[0]), entry) for entry in attempts]
    recent = [(age, entry) for age, entry in recent if 0 < age <= longest]
    values: dict[str, float] = {}
    for name, measure, window in features:
        inside = [entry for age, entry in recent if age <= window]
        if measure == "txn_count":
            value = float(len(inside))
        elif measure == "amount_usd":
            value = float(sum((Decimal(entry[1]) for entry in inside), Decimal(0)))
        elif measure == "distinct_merchants":
            value = float(len({entry[2] for entry in inside if entry[2] is not None}))
        elif measure == "distinct_cards":
            value = float(len({entry[3] for entry in inside if entry[3] is not None}))
        else:  # decline_count
            value = float(sum(1 for at in declines if 0 < as_of_us - at <= window))
        values[name] = value
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


def watermark_after(watermark: int | None, at_us: int, ceiling_us: int) -> int:
    """A partition's sweep watermark once an event at `at_us` was handled there: the newest event
    time, except that one event moves it no further than `ceiling_us` (the wall clock plus the
    future tolerance). An event dated far ahead (a provider's clock, a bad year) would otherwise
    take the watermark with it, and the next sweep would drop every entity of the partition. The
    event itself is used as it is (its features, its attempt): only the watermark is capped."""
    moved = min(at_us, ceiling_us)
    return moved if watermark is None else max(watermark, moved)


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
        self.keep_us = {entity: keep // MICROSECOND for entity, keep in self.keep.items()}
        self.future_us = settings.velocity_future_tolerance_seconds * 10**6
        self.batch_size = settings.batch_size
        self.batch_seconds = settings.batch_seconds
        self.worker = f"{settings.app_id}-velocity"
        self.watermarks: dict[int, int] = {}
        """Partition of the internal topic -> newest event time (epoch microseconds) handled there,
        each event's capped at the wall clock plus `velocity_future_tolerance_seconds`."""
        self._state = asyncio.Lock()
        """Held by a batch of feature updates (read, change, write, changelog sends) and by a whole
        sweep, so that a sweep never deletes, nor tombstones, a state updated after it judged it
        expired."""

    async def fanout(self, stream: StreamT[bytes]) -> None:
        await self.normalizer.velocity_entities.maybe_declare()
        await run_batches(self.normalizer, stream, self._fan_all, "velocity_fanout")

    async def _fan_all(self, events: list[EventT[bytes]]) -> list[Awaitable[Any]]:
        outputs: list[Awaitable[Any]] = []
        for event in events:
            outputs.extend(await self._fan(event))
        return outputs

    async def _fan(self, event: EventT[bytes]) -> list[Awaitable[Any]]:
        message = event.message
        try:
            marks = marks_for(message.value, not_after_us=int(time.time() * 10**6) + self.future_us)
        except UnusableEventError as exc:
            source = SourcePosition(topic=message.topic, partition=message.partition, offset=message.offset)
            letter = dead_letter(source, message.key, message.value, exc.reasons, worker=self.worker)
            log.info("velocity: dead-lettered %s: %s", source, exc)
            self.normalizer.metrics.count("velocity", "dead_lettered")
            return [await self.normalizer.send(DLQ.name, message.key, letter.model_dump_json().encode())]
        topic = self.normalizer.velocity_entities.get_topic_name()
        return [
            await self.normalizer.send(
                topic, mark.key.encode(), mark.dumps(), entity_partition(mark.key, VELOCITY_PARTITIONS)
            )
            for mark in marks
        ]

    async def features(self, stream: StreamT[bytes]) -> None:
        await run_batches(self.normalizer, stream, self._features, "velocity")

    async def _features(self, events: list[EventT[bytes]]) -> list[Awaitable[Any]]:
        """Update each mark's entity and publish its features as of the mark, in arrival order; then
        write each entity the batch changed to the changelog once, with its state after the batch
        (the changelog keeps only an entity's last value: the states in between are never read)."""
        table = self.normalizer.velocity
        changelog = table.changelog_topic.get_topic_name()
        outputs: list[Awaitable[Any]] = []
        changed: dict[str, tuple[int, State]] = {}
        """entity key -> its partition (of the internal topic, and so of the changelog) and its
        state object (serialized from this reference, not re-read from the table after awaits)."""
        async with self._state:
            ceiling = int(time.time() * 10**6) + self.future_us
            for event in events:
                message = event.message
                mark = Mark.loads(message.value or b"")
                state = remember_in_place(table.data.get(mark.key), mark, self.keep_us[mark.entity])
                table.data[mark.key] = state
                changed[mark.key] = (message.partition, state)
                record = record_for(state, mark)
                self.watermarks[message.partition] = watermark_after(
                    self.watermarks.get(message.partition), mark.at_us, ceiling
                )
                outputs.append(
                    await self.normalizer.send(VELOCITY.name, record.key().encode(), record.model_dump_json().encode())
                )
            for key, (partition, state) in changed.items():
                # The key as Faust's json codec (and the sweep's tombstone) writes it: compaction
                # matches keys by their bytes. The value in Rust: its bytes are never compared.
                value = pydantic_core.to_json(state)
                outputs.append(await self.normalizer.send(changelog, json.dumps(key).encode(), value, partition))
        self.normalizer.metrics.count("velocity", "published", len(events))
        return outputs

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
                tombstones.append(await self.normalizer.send(changelog, json.dumps(key).encode(), None, partition))
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
