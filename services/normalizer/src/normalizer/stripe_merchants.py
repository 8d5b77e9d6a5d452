"""The merchant of a Stripe refund or dispute, looked up by its payment.

Real Stripe Disputes carry no platform metadata (Stripe copies nothing from the charge), and a
Refund carries only what its creator set, so a refund or dispute may not name the platform's
merchant (`metadata.merchant_id`). Its payment's events do. The webhook topics are keyed by
provider event id, so a dispute and its payment sit on different partitions; the lookup goes
through one internal topic keyed by the Stripe payment id (the PaymentIntent id, or the charge id
when there is none), `<app_id>-stripe-payments`, with the webhook topics' partition count:

- the Stripe provider agent sends a *fact* for every payment event it normalized (a charge's or a
  PaymentIntent's: the payment's own object, which names the merchant; never a refund's or a
  dispute's, whose metadata is whatever their creator set): value the payment's platform keys as
  the event carried them (`METADATA_KEYS`: `{"merchant_id": "<merchant>", "customer_id": ...,
  "device_id": ..., "ip_country": ..., "merchant_category": ...}`, absent keys left out; a fact
  with `merchant_id` only, as the first version wrote, still parses);
- and an *orphan* for a refund or dispute whose object names no merchant (`MerchantUnknown`),
  instead of a dead letter: value `{"source": {"topic", "partition", "offset"}, "key": <webhook
  record key>, "envelope": <the envelope JSON text>, "attempts": <n>}` (a record with
  `"merchant_id"` is a fact, any other an orphan). `redrive` sends one too (below).

Each is an output of the provider agent's batch: the webhook offset is committed only after it is
acknowledged, and the dedupe mark of a forwarded orphan drops a redelivered copy of its webhook.

The `stripe_merchants` agent reads that topic in batches and keeps the `stripe-merchants` table
(`<app_id>-stripe-merchants-changelog`, co-partitioned with the topic): Stripe payment id ->
`[merchant_id, time of the fact (seconds), customer_id, device_id, ip_country, merchant_category]`
(the last four absent in a value of a fact that named the merchant only, `None` where the payment
had no such key). A fact sets it (a fact that changes nothing but the
time is written at most once a `REFRESH_SECONDS`). An orphan is mapped with its payment's keys from the
table (its own metadata keys win) and its `NormalizedEvent` goes to `payments.normalized.v1` as the provider agent would have
sent it: the same `event_id`, keyed by `payment_id`, `source` the ORIGINAL webhook position. An
orphan whose payment has no fact is dead-lettered (stage `normalizer`, worker `<app_id>-stripe`,
reason `merchant_unknown` on `payload.data.object.metadata.merchant_id`, source the original
webhook position and the same `dlq_id` as a dead letter of that webhook): once the payment's
fact was seen, `redrive` re-reads the webhook, finds the merchant still missing and sends the
orphan here again (`sent_to_merchant_lookup`), with one more attempt; `redrive` of a dead-lettered
charge or PaymentIntent sends its fact too, before any orphan of the same run.

Delivery as the provider agents: a batch's records are acknowledged only after the broker
acknowledged every output of the batch: the normalized events, the dead letters and the table's
changelog writes. A crash before that re-reads them; a normalized event sent twice has the same
`event_id`. So the payment's fact must have been seen before its refund or dispute: one seen first
is dead-lettered and recovered by `redrive` (the lookup parks nothing and has no stall watchdog).

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
from contracts.schemas.normalized_event import METADATA_KEYS, NormalizedEvent, SourcePosition
from contracts.schemas.payment_event import StripeEnvelope
from contracts.schemas.providers.stripe import StripeCharge, StripePaymentIntent
from contracts.topics import DLQ, NORMALIZED, WEBHOOK_TOPICS
from normalizer.batches import run_batches
from normalizer.dlq import dead_letter, worker_name
from normalizer.mapping import Ignored, MappingError, MerchantUnknown, normalize
from normalizer.mapping.stripe import payment_of
from normalizer.metrics import STRIPE_MERCHANT_OUTCOMES
from normalizer.tables import create_expiring_table, drop_older
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
(`merchant_unknown`) or for another reason (`unmappable`) or `ignored` (a step the current code
maps to no outcome: nothing sent), internal records that do not parse (`unreadable`,
dead-lettered), facts `expired`."""
OTHER_KEYS: tuple[str, ...] = tuple(key for key in METADATA_KEYS if key != "merchant_id")
"""The payment's platform keys a fact carries besides the merchant, in the table value's order."""
INTERNED = frozenset({"merchant_id", "ip_country", "merchant_category"})
"""Keys whose values many payments share: held once in memory (README: memory)."""


PARTITIONS = WEBHOOK_TOPICS[Provider.STRIPE].partitions
"""The webhook topics' (the app checks they share one count), and so the table changelog's."""
RETENTION_MS = WEBHOOK_TOPICS[Provider.STRIPE].retention_ms


def topic_name(app_id: str) -> str:
    return f"{app_id}-stripe-payments"


def topic_spec(app_id: str) -> TopicSpec:
    """The internal topic as the worker creates it (`redrive` creates it so too, if it must)."""
    return TopicSpec(topic_name(app_id), PARTITIONS, {"retention.ms": str(RETENTION_MS)})


def fact(envelope: StripeEnvelope, event: NormalizedEvent) -> tuple[bytes, bytes] | None:
    """(key, value) of the fact of a normalized Stripe payment event (a charge's or a PaymentIntent's):
    its payment -> its platform keys as the event carries them. None for a refund or a dispute: their
    metadata is their creator's, not the payment's, and must not overwrite it."""
    if not isinstance(envelope.payload.data.object, StripeCharge | StripePaymentIntent):
        return None
    party = {key: value for key in METADATA_KEYS if (value := getattr(event, key))}
    return payment_of(envelope).encode(), pydantic_core.to_json(party)


def unreadable_worker(app_id: str) -> str:
    """The `worker` of the dead letter of an internal record that does not parse (`redrive` lists
    those as not redriven: the record is no webhook and cannot be mapped again)."""
    return f"{app_id}-{METRIC}"


ORPHAN_MAX_BYTES = 900_000
"""The largest orphan record sent: below the producers' request limits (Faust's
`producer_max_request_size`, 1,000,000 bytes; aiokafka's 1 MiB in `redrive`) and the broker's
default `max.message.bytes`. The orphan carries its envelope as a JSON string (~1.2x its size), so
an envelope of more than ~730 KB (possible only with `GATEWAY_MAX_BODY_BYTES` far above its
256 KiB default) would make the send raise, and the worker crash on the same record at every
start: such a refund or dispute is dead-lettered `orphan_too_large` instead."""
ORPHAN_TOO_LARGE = "orphan_too_large"


def orphan(
    payment: str, source: SourcePosition, key: bytes | None, envelope: bytes, attempts: int = 1
) -> tuple[bytes, bytes]:
    """(key, value) of an orphan: a Stripe refund or dispute whose merchant is its payment's; a
    `MappingError` (`orphan_too_large`) when the record would exceed `ORPHAN_MAX_BYTES`."""
    document = {
        "source": source.model_dump(mode="json"),
        "key": key.decode("utf-8", errors="replace") if key is not None else None,
        "envelope": envelope.decode("utf-8"),
        "attempts": attempts,
    }
    value = pydantic_core.to_json(document)
    if len(value) > ORPHAN_MAX_BYTES:
        raise MappingError.one(
            MerchantUnknown.FIELD,
            ORPHAN_TOO_LARGE,
            f"no platform merchant id, and at {len(value)} bytes the lookup record of Stripe payment "
            f"{payment} would exceed {ORPHAN_MAX_BYTES}: its merchant cannot be looked up",
        )
    return payment.encode(), value


@dataclass(frozen=True)
class Orphan:
    source: SourcePosition
    key: bytes | None
    envelope: bytes
    attempts: int


def parse(value: bytes | None) -> dict[str, str] | Orphan:
    """A fact's platform keys (`METADATA_KEYS` it names, `merchant_id` always; keys of no meaning to
    this version are left out), or an orphan; `ValueError` (or `KeyError`) for anything else."""
    document = pydantic_core.from_json(value or b"")
    if not isinstance(document, dict):
        raise ValueError("not a JSON object")
    if "merchant_id" in document:
        party = {key: document[key] for key in METADATA_KEYS if document.get(key) is not None}
        if not all(isinstance(v, str) for v in party.values()):
            raise ValueError("a fact with a key that is not a string")
        if not party.get("merchant_id"):
            raise ValueError("a fact without a merchant id")
        return {key: v for key, v in party.items() if v}
    key = document.get("key")
    attempts = document.get("attempts")
    if not isinstance(attempts, int) or isinstance(attempts, bool) or attempts < 1:
        raise ValueError(f"an orphan's attempts must be an integer >= 1, not {attempts!r}")
    envelope = document["envelope"]
    if not isinstance(envelope, str):
        raise ValueError("an orphan's envelope must be the envelope's JSON text")
    return Orphan(
        source=SourcePosition.model_validate(document["source"]),
        key=key.encode() if isinstance(key, str) else None,
        envelope=envelope.encode(),
        attempts=attempts,
    )


def held(party: dict[str, str], at: float) -> list[Any]:
    """The table value of a fact: `[merchant, time, *OTHER_KEYS values]` (`None` for an absent key)."""

    def kept(key: str) -> str | None:
        value = party.get(key)
        return sys.intern(value) if value is not None and key in INTERNED else value

    return [sys.intern(party["merchant_id"]), at, *(kept(key) for key in OTHER_KEYS)]


def party_of(value: Any) -> dict[str, str]:
    """The payment's platform keys from a table value (one of the first version, `[merchant, time]`,
    read back from the changelog, too)."""
    party = {"merchant_id": str(value[0])}
    party.update({key: str(v) for key, v in zip(OTHER_KEYS, value[2:], strict=False) if v})
    return party


def expire(facts: MutableMapping[str, Any], now: float, retention_seconds: float) -> int:
    """Drop the facts last seen more than the retention before `now`; how many."""
    return drop_older(facts, now - retention_seconds, lambda value: value[1])


class StripeMerchants:
    """The lookup agent: facts into the table, orphans out as normalized events or dead letters."""

    def __init__(self, normalizer: Normalizer) -> None:
        self.normalizer = normalizer
        self.worker = worker_name(normalizer.settings.app_id, Provider.STRIPE)
        """Dead letters name the Stripe agent, so `redrive` takes them up as its own."""

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
            if isinstance(record, dict):
                metrics.count(METRIC, "fact")
                at = float(message.timestamp)
                known = table.data.get(payment)
                if known is None or party_of(known) != record or at - float(known[1]) >= REFRESH_SECONDS:
                    value = held(record, at)
                    table.data[payment] = value
                    # The table's own encoding (json key and value), read back on recovery.
                    encoded = json.dumps(value).encode()
                    outputs.append(
                        await self.normalizer.send(changelog, json.dumps(payment).encode(), encoded, message.partition)
                    )
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
            event = normalize(Provider.STRIPE, record.envelope, record.source, party=party_of(known))
        except MappingError as exc:
            metrics.count(Provider.STRIPE.value, "dead_lettered")
            metrics.count(METRIC, "merchant_unknown" if isinstance(exc, MerchantUnknown) else "unmappable")
            letter = dead_letter(record.source, record.key, record.envelope, exc.reasons, worker=self.worker)
            letter = letter.model_copy(update={"attempts": record.attempts})
            log.info("stripe merchants: dead-lettered %s: %s", record.source, exc)
            return [await self.normalizer.send(DLQ.name, record.key, letter.model_dump_json().encode())]
        except Ignored:  # no outcome (the provider agent forwards only what maps to one: a step a later
            # version maps to none, say): nothing to send, but counted, so that it is seen
            metrics.count(Provider.STRIPE.value, "ignored")
            metrics.count(METRIC, "ignored")
            log.info("stripe merchants: ignored %s", record.source)
            return []
        metrics.count(Provider.STRIPE.value, "normalized")
        metrics.count(METRIC, "resolved")
        return [
            await self.normalizer.send(NORMALIZED.name, event.payment_id.encode(), event.model_dump_json().encode())
        ]

    async def _unreadable(self, event: EventT[bytes], exc: Exception) -> Awaitable[Any]:
        """A record of the internal topic that is neither a fact nor an orphan (a bug, or a writer
        of another version): dead-lettered with its own position, the agent goes on."""
        message = event.message
        source = SourcePosition(topic=message.topic, partition=message.partition, offset=message.offset)
        reasons = [RejectReason(field="<value>", code="unreadable", message=f"not a fact or an orphan: {exc}"[:500])]
        worker = unreadable_worker(self.normalizer.settings.app_id)
        letter = dead_letter(source, message.key, message.value, reasons, worker=worker)
        self.normalizer.metrics.count(METRIC, "unreadable")
        return await self.normalizer.send(DLQ.name, message.key, letter.model_dump_json().encode())


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
