"""The merchant of a Stripe refund or dispute, looked up by its payment.

Real Stripe Disputes carry no platform metadata (Stripe copies nothing from the charge), and a
Refund carries only what its creator set, so a refund or dispute may not name the platform's
merchant (`metadata.merchant_id`). Its payment's events do. The webhook topics are keyed by
provider event id, so a dispute and its payment sit on different partitions; the lookup goes
through one internal topic keyed by the Stripe payment id (the PaymentIntent id, or the charge id
when there is none), `<app_id>-stripe-payments`, with the webhook topics' partition count:

- the Stripe provider agent sends a *fact* for every Stripe event it normalized (its object named
  the merchant): value `{"merchant_id": "<merchant>"}`;
- and an *orphan* for a refund or dispute whose object names no merchant (`MerchantUnknown`),
  instead of a dead letter: value `{"source": {"topic", "partition", "offset"}, "key": <webhook
  record key>, "envelope": <the envelope JSON text>, "attempts": <n>}` (a record with
  `"merchant_id"` is a fact, any other an orphan). `redrive` sends one too (below).

Each is an output of the provider agent's batch: the webhook offset is committed only after it is
acknowledged, and the dedupe mark of a forwarded orphan drops a redelivered copy of its webhook.

The `stripe_merchants` agent reads that topic in batches and keeps the `stripe-merchants` table
(`<app_id>-stripe-merchants-changelog`, co-partitioned with the topic): Stripe payment id ->
`[merchant_id, time of the fact (seconds)]`. A fact sets it (a fact that changes nothing but the
time is written at most once a `REFRESH_SECONDS`). An orphan is mapped with the merchant from the
table and its `NormalizedEvent` goes to `payments.normalized.v1` as the provider agent would have
sent it: the same `event_id`, keyed by `payment_id`, `source` the ORIGINAL webhook position. An
orphan whose payment has no fact is dead-lettered (stage `normalizer`, worker `<app_id>-stripe`,
reason `merchant_unknown` on `payload.data.object.metadata.merchant_id`, source the original
webhook position and the same `dlq_id` as a dead letter of that webhook): once the payment's
fact was seen, `redrive` re-reads the webhook, finds the merchant still missing and sends the
orphan here again (`merchant_lookup`), with one more attempt.

Delivery as the provider agents: a batch's records are acknowledged only after the broker
acknowledged every output of the batch: the normalized events, the dead letters and the table's
changelog writes. A crash before that re-reads them; a normalized event sent twice has the same
`event_id`. So the payment's fact must have been seen before its refund or dispute: one seen first
is dead-lettered and recovered by `redrive`.

Facts are kept `NORMALIZER_STRIPE_MERCHANT_RETENTION_SECONDS` (default 180 days, Stripe's longest
dispute window is 120 days after the charge) after the last one of their payment: the table drops
older ones from memory every `NORMALIZER_DEDUPE_EXPIRY_INTERVAL_SECONDS`, and its changelog is
compacted and deleted past the same age.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Awaitable, MutableMapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import faust
import pydantic_core
from faust.types import EventT, StreamT

from contracts.reference.providers import Provider
from contracts.schemas.dlq import RejectReason
from contracts.schemas.normalized_event import NormalizedEvent, SourcePosition
from contracts.schemas.payment_event import StripeEnvelope
from contracts.topics import DLQ, NORMALIZED, WEBHOOK_TOPICS
from normalizer.batches import run_batches
from normalizer.dlq import dead_letter, worker_name
from normalizer.mapping import Ignored, MappingError, MerchantUnknown, normalize
from normalizer.mapping.stripe import payment_of
from normalizer.metrics import STRIPE_MERCHANT_OUTCOMES
from normalizer.tables import create_expiring_table
from normalizer.topics import TopicSpec

if TYPE_CHECKING:
    from normalizer.app import Normalizer

log = logging.getLogger(__name__)

TABLE_NAME = "stripe-merchants"
REFRESH_SECONDS = 24 * 3600.0
"""A fact that names the merchant the table already holds is written again (to move its time,
and so its expiry) only when the held one is older than this: one changelog record per payment
and day at most."""
METRIC = "stripe_merchants"
OUTCOMES = STRIPE_MERCHANT_OUTCOMES
"""`forwarded` orphans (by the provider agent), facts read, orphans `resolved` or dead-lettered
(`merchant_unknown`) or for another reason (`unmappable`), internal records that do not parse
(`unreadable`, dead-lettered), facts `expired`."""


PARTITIONS = WEBHOOK_TOPICS[Provider.STRIPE].partitions
"""The webhook topics' (the app checks they share one count), and so the table changelog's."""
RETENTION_MS = WEBHOOK_TOPICS[Provider.STRIPE].retention_ms


def topic_name(app_id: str) -> str:
    return f"{app_id}-stripe-payments"


def topic_spec(app_id: str) -> TopicSpec:
    """The internal topic as the worker creates it (`redrive` creates it so too, if it must)."""
    return TopicSpec(topic_name(app_id), PARTITIONS, {"retention.ms": str(RETENTION_MS)})


def fact(envelope: StripeEnvelope, event: NormalizedEvent) -> tuple[bytes, bytes]:
    """(key, value) of the fact of a normalized Stripe event: its payment -> its merchant."""
    return payment_of(envelope).encode(), pydantic_core.to_json({"merchant_id": event.merchant_id})


def orphan(
    payment: str, source: SourcePosition, key: bytes | None, envelope: bytes, attempts: int = 1
) -> tuple[bytes, bytes]:
    """(key, value) of an orphan: a Stripe refund or dispute whose merchant is its payment's."""
    document = {
        "source": source.model_dump(mode="json"),
        "key": key.decode("utf-8", errors="replace") if key is not None else None,
        "envelope": envelope.decode("utf-8"),
        "attempts": attempts,
    }
    return payment.encode(), pydantic_core.to_json(document)


@dataclass(frozen=True)
class Orphan:
    source: SourcePosition
    key: bytes | None
    envelope: bytes
    attempts: int


def parse(value: bytes | None) -> str | Orphan:
    """A fact's merchant id, or an orphan; `ValueError` for anything else."""
    document = pydantic_core.from_json(value or b"")
    if not isinstance(document, dict):
        raise ValueError("not a JSON object")
    if "merchant_id" in document:
        merchant = document["merchant_id"]
        if not isinstance(merchant, str) or not merchant:
            raise ValueError("a fact without a merchant id")
        return merchant
    key = document.get("key")
    return Orphan(
        source=SourcePosition.model_validate(document["source"]),
        key=key.encode() if isinstance(key, str) else None,
        envelope=str(document["envelope"]).encode(),
        attempts=int(document.get("attempts", 1)),
    )


def expire(facts: MutableMapping[str, Any], now: float, retention_seconds: float) -> int:
    """Drop the facts last seen more than the retention before `now`; how many."""
    cutoff = now - retention_seconds
    old = [payment for payment, value in facts.items() if value is not None and float(value[1]) < cutoff]
    for payment in old:
        del facts[payment]
    return len(old)


class StripeMerchants:
    """The lookup agent: facts into the table, orphans out as normalized events or dead letters."""

    def __init__(self, normalizer: Normalizer) -> None:
        self.normalizer = normalizer
        self.worker = worker_name(normalizer.settings.app_id, Provider.STRIPE)
        """Dead letters name the Stripe agent, so `redrive` takes them up as its own."""

    async def _send(self, topic: str, key: bytes | None, value: bytes, partition: int | None = None) -> Awaitable[Any]:
        return await self.normalizer.app.producer.send(topic, key, value, partition, None, None)

    async def run(self, stream: StreamT[bytes]) -> None:
        await run_batches(self.normalizer, stream, self.handle, METRIC)

    async def handle(self, events: list[EventT[bytes]]) -> list[Awaitable[Any]]:
        table = self.normalizer.stripe_merchants
        changelog = table.changelog_topic.get_topic_name()
        outputs: list[Awaitable[Any]] = []
        metrics = self.normalizer.metrics
        for event in events:
            message = event.message
            payment = (message.key or b"").decode("utf-8", errors="replace")
            try:
                record = parse(message.value)
            except (ValueError, KeyError, TypeError) as exc:
                outputs.append(await self._unreadable(event, exc))
                continue
            if isinstance(record, str):
                metrics.count(METRIC, "fact")
                at = float(message.timestamp)
                known = table.data.get(payment)
                if known is None or known[0] != record or at - float(known[1]) >= REFRESH_SECONDS:
                    # Interned: a merchant has many payments, its id is held once (README: memory).
                    table.data[payment] = [sys.intern(record), at]
                    # The table's own encoding (json key and value), read back on recovery.
                    value = json.dumps([record, at]).encode()
                    outputs.append(await self._send(changelog, json.dumps(payment).encode(), value, message.partition))
                continue
            outputs.extend(await self._resolve(payment, record, table.data.get(payment)))
        return outputs

    async def _resolve(self, payment: str, record: Orphan, known: Any) -> list[Awaitable[Any]]:
        metrics = self.normalizer.metrics
        # The Stripe message's own outcome is counted here, in `normalizer_messages_total` (the
        # provider agent counted it `forwarded` only): one outcome per message, as for the others.
        try:
            if known is None:
                raise MerchantUnknown(payment)
            event = normalize(Provider.STRIPE, record.envelope, record.source, merchant_id=str(known[0]))
        except MappingError as exc:
            metrics.count(Provider.STRIPE.value, "dead_lettered")
            metrics.count(METRIC, "merchant_unknown" if isinstance(exc, MerchantUnknown) else "unmappable")
            letter = dead_letter(record.source, record.key, record.envelope, exc.reasons, worker=self.worker)
            letter = letter.model_copy(update={"attempts": record.attempts})
            log.info("stripe merchants: dead-lettered %s: %s", record.source, exc)
            return [await self._send(DLQ.name, record.key, letter.model_dump_json().encode())]
        except Ignored:  # not an outcome (the provider agent forwards outcomes only): nothing to send
            return []
        metrics.count(Provider.STRIPE.value, "normalized")
        metrics.count(METRIC, "resolved")
        return [await self._send(NORMALIZED.name, event.payment_id.encode(), event.model_dump_json().encode())]

    async def _unreadable(self, event: EventT[bytes], exc: Exception) -> Awaitable[Any]:
        """A record of the internal topic that is neither a fact nor an orphan (a bug, or a writer
        of another version): dead-lettered with its own position, the agent goes on."""
        message = event.message
        source = SourcePosition(topic=message.topic, partition=message.partition, offset=message.offset)
        reasons = [RejectReason(field="<value>", code="unreadable", message=f"not a fact or an orphan: {exc}"[:500])]
        worker = f"{self.normalizer.settings.app_id}-{METRIC}"
        letter = dead_letter(source, message.key, message.value, reasons, worker=worker)
        self.normalizer.metrics.count(METRIC, "unreadable")
        return await self._send(DLQ.name, message.key, letter.model_dump_json().encode())


def create_table(app: faust.App, partitions: int, retention_seconds: float) -> faust.Table[str, Any]:
    return create_expiring_table(
        app, TABLE_NAME, partitions, retention_seconds, "Stripe payment id -> [merchant id, time of its last fact]"
    )


def install(normalizer: Normalizer) -> StripeMerchants:
    agent = StripeMerchants(normalizer)
    normalizer.app.agent(normalizer.stripe_payments, name="stripe_merchants")(agent.run)
    settings = normalizer.settings

    @normalizer.app.timer(interval=settings.dedupe_expiry_interval_seconds)  # type: ignore[misc]  # untyped
    async def expire_stripe_merchants() -> None:
        dropped = expire(normalizer.stripe_merchants.data, time.time(), settings.stripe_merchant_retention_seconds)
        normalizer.metrics.count(METRIC, "expired", dropped)

    return agent
