"""`redrive`: process dead-lettered messages again with the current code, once per dead letter.

A dead letter's excerpt is redacted and cannot be replayed; its source position can. `redrive`
reads the dead letters that this app's workers wrote (stage `normalizer`, `worker`
`<NORMALIZER_APP_ID>-<provider>`) to `payments.dlq.v1` and that its consumer group has not handled
yet. The dead-letter topic is shared: other stages, other normalizer deployments and tests write
to it too, and a new group starts at the topic's beginning, so without the `worker` filter a first
run would redrive every normalizer dead letter ever written. It re-reads each one's source message from the provider topic, and maps it again:
a `NormalizedEvent` (same deterministic `event_id` as a first-time success) goes to
`payments.normalized.v1`, a message that still fails goes back to the dead-letter topic with the
same `dlq_id` and one more attempt, and one the current code ignores (a pending step an older
version dead-lettered) is counted `ignored` and left alone. A Stripe refund or dispute that names
no merchant (`merchant_unknown`) is sent to the worker's merchant lookup again
(`sent_to_merchant_lookup`: onto `<app_id>-stripe-payments`, see `normalizer.stripe_merchants`;
redrive cannot know whether the payment is known by now), which publishes it if its payment's
merchant is known, or dead-letters it again with one more attempt. A recovered Stripe charge or
PaymentIntent sends its payment's fact to the lookup too, as the worker does; the facts (and every
other output) of a run are sent before its orphans, and a payment's fact and orphans share the
internal topic's partition, so one run recovers a dead-lettered payment and its dead-lettered
refunds and disputes together. The group's offsets on the dead-letter topic are committed
only after every output was acknowledged, so a dead letter is redriven once (at least once if a
run is killed), and one already redriven in this run (a copy with the same `dlq_id`) is skipped.

A dead letter that this run cannot redrive, because its source message is gone (the provider
topic's retention removed it: `source_gone`), its source topic is no provider topic this binary
knows (`unknown_source_topic`: a binary of the writer's version could), or the record looks like
one of this app's dead letters but does not validate (`unreadable`: written by a newer contracts
version, say; named with its own `dlq_partition` and `dlq_offset`), is committed past like the
others, but the report names each one (`not_redriven`: outcome, `dlq_id`, worker, key and source position) and
the command exits with `EXIT_NOT_REDRIVEN` (3) instead of 0, so that an operator knows what was
lost to retention and where to look (the dead letter itself, with its reasons and excerpt, stays
on `payments.dlq.v1`). A configuration error exits with 2.

    NORMALIZER_KAFKA_BOOTSTRAP_SERVERS=... ./pants run services/normalizer:redrive -- [--group G]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition  # type: ignore[import-untyped]
from pydantic import ValidationError

from contracts.reference.providers import Provider
from contracts.schemas.dlq import DeadLetter, redact_excerpt
from contracts.topics import DLQ, NORMALIZED, WEBHOOK_TOPICS
from normalizer import stripe_merchants
from normalizer.dlq import STAGE, is_provider_worker, written_by
from normalizer.mapping import Ignored, MappingError, MerchantUnknown, decode, map_envelope
from normalizer.settings import ConfigurationError, NormalizerSettings, load_settings
from normalizer.topics import ensure_topics

PROVIDER_OF_TOPIC: dict[str, Provider] = {topic.name: provider for provider, topic in WEBHOOK_TOPICS.items()}
FETCH_TIMEOUT_MS = 10_000
INTERNAL_RECORD = "internal_record"
"""The outcome of a dead letter of a record of the merchant lookup's own topic that did not parse
(`stripe_merchants.unreadable_worker`): no webhook, nothing to map again; listed with a reason."""
NOT_REDRIVEN = frozenset({"source_gone", "unknown_source_topic", "unreadable", INTERNAL_RECORD})
"""Outcomes of dead letters this run cannot redrive: committed past, and listed one by one."""
SENT_TO_MERCHANT_LOOKUP = "sent_to_merchant_lookup"
"""The outcome of a Stripe refund or dispute that still names no merchant: sent to the worker's
merchant lookup (`normalizer.stripe_merchants`), which normalizes it with its payment's merchant if
it knows it by then, or dead-letters it again. Redrive cannot tell which: the worker's
`normalizer_stripe_merchants_total{outcome="resolved"|"merchant_unknown"}` and the topics can."""
INTERNAL_RECORD_REASON = (
    "a record of the Stripe merchant lookup's topic that is neither a fact nor an orphan: no webhook "
    "to map again (a bug or a writer of another version; the dead letter keeps its excerpt)"
)
EXIT_NOT_REDRIVEN = 3
"""The exit status of a run that committed past at least one dead letter it could not redrive."""


@dataclass
class RedriveReport:
    """What a run did: counts by outcome, and every dead letter it could not redrive."""

    dry_run: bool = False
    outcomes: Counter[str] = field(default_factory=Counter)
    not_redriven: list[dict[str, Any]] = field(default_factory=list)
    """One entry per dead letter (not per copy) whose outcome is in `NOT_REDRIVEN`: `outcome`,
    `dlq_id`, `worker`, `key`, and the source `topic`, `partition` and `offset`."""

    def note(self, letter: DeadLetter, outcome: str, reason: str | None = None) -> None:
        self.outcomes[outcome] += 1
        if outcome in NOT_REDRIVEN:
            entry: dict[str, Any] = {
                "outcome": outcome,
                "dlq_id": str(letter.dlq_id),
                "worker": letter.worker,
                "key": letter.key,
                "topic": letter.source.topic,
                "partition": letter.source.partition,
                "offset": letter.source.offset,
            }
            if reason is not None:
                entry["reason"] = reason
            self.not_redriven.append(entry)

    def as_json(self) -> str:
        return json.dumps(
            {
                "dry_run": self.dry_run,
                "outcomes": dict(sorted(self.outcomes.items())),
                "not_redriven": self.not_redriven,
            },
            indent=2,
        )


class SourceReader:
    """Reads single messages back from the provider topics by position."""

    def __init__(self, bootstrap_servers: str) -> None:
        self._consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers, enable_auto_commit=False)

    async def start(self) -> None:
        await self._consumer.start()

    async def stop(self) -> None:
        await self._consumer.stop()

    async def read(self, topic: str, partition: int, offset: int) -> tuple[bytes | None, bytes | None] | None:
        """(key, value) of the message at the position; None if retention removed it."""
        tp = TopicPartition(topic, partition)
        self._consumer.assign([tp])
        beginning = (await self._consumer.beginning_offsets([tp]))[tp]
        end = (await self._consumer.end_offsets([tp]))[tp]
        if not beginning <= offset < end:
            return None
        self._consumer.seek(tp, offset)
        while True:
            batch = await self._consumer.getmany(tp, timeout_ms=FETCH_TIMEOUT_MS, max_records=1)
            for record in batch.get(tp, []):
                if record.offset >= offset:
                    return (record.key, record.value) if record.offset == offset else None
            if not batch:
                raise TimeoutError(f"no message from {topic}[{partition}] at {offset} within {FETCH_TIMEOUT_MS} ms")


async def _dead_letters(consumer: AIOKafkaConsumer, app_id: str) -> tuple[list[DeadLetter], list[dict[str, Any]]]:
    """This app's dead letters from the group's position to the current end, and the records that
    look like this app's but do not validate (`_unreadable_entry`)."""
    partitions = [TopicPartition(DLQ.name, p) for p in range(DLQ.partitions)]
    ends = await consumer.end_offsets(partitions)
    letters: list[DeadLetter] = []
    unreadable: list[dict[str, Any]] = []
    while [tp for tp in partitions if await consumer.position(tp) < ends[tp]]:
        batch = await consumer.getmany(*partitions, timeout_ms=1000)
        for tp, records in batch.items():
            for record in records:
                if record.offset >= ends[tp]:
                    continue
                try:
                    letter = DeadLetter.model_validate_json(record.value or b"")
                except ValidationError:
                    entry = _unreadable_entry(record, app_id)
                    if entry is not None:
                        unreadable.append(entry)
                    continue  # otherwise not ours to judge: another stage's or a foreign record
                if written_by(letter, app_id) or _of_the_lookup(letter, app_id):
                    letters.append(letter)
    for tp in partitions:  # never read past the snapshot's end
        consumer.seek(tp, ends[tp])
    return letters, unreadable


def _of_the_lookup(letter: DeadLetter, app_id: str) -> bool:
    """A dead letter of an internal record this app's merchant lookup could not parse."""
    return letter.stage == STAGE and letter.worker == stripe_merchants.unreadable_worker(app_id)


def _unreadable_entry(record: Any, app_id: str) -> dict[str, Any] | None:
    """A `not_redriven` entry for a record that looks like one of this app's dead letters but does
    not validate (written by a newer contracts version, say): committed past with the others, so
    it must be named, with its own position on the dead-letter topic. None for anything else."""
    try:
        raw = json.loads(record.value or b"")
    except ValueError:
        return None
    if not isinstance(raw, dict) or not is_provider_worker(raw.get("stage"), raw.get("worker"), app_id):
        return None
    position = raw.get("source")
    source: dict[str, Any] = position if isinstance(position, dict) else {}
    return {
        "outcome": "unreadable",
        "dlq_id": raw.get("dlq_id"),
        "worker": raw.get("worker"),
        "key": raw.get("key"),
        "topic": source.get("topic"),
        "partition": source.get("partition"),
        "offset": source.get("offset"),
        "dlq_partition": record.partition,
        "dlq_offset": record.offset,
    }


async def redrive(settings: NormalizerSettings, group: str, dry_run: bool = False) -> RedriveReport:
    """Redrive the app's dead letters the group has not handled yet; returns what it did."""
    report = RedriveReport(dry_run=dry_run)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, acks="all", enable_idempotence=True)
    reader = SourceReader(settings.kafka_bootstrap_servers)
    await consumer.start()
    await producer.start()
    await reader.start()
    try:
        partitions = [TopicPartition(DLQ.name, p) for p in range(DLQ.partitions)]
        consumer.assign(partitions)
        stripe_payments = stripe_merchants.topic_name(settings.app_id)
        if not dry_run:  # as the worker creates it (a first send would create it with one partition)
            spec = stripe_merchants.topic_spec(settings.app_id)
            await ensure_topics(settings.kafka_bootstrap_servers, settings.replication_factor, [spec])
        seen: set[str] = set()
        outputs: list[Output] = []
        orphans: list[Output] = []
        letters, unreadable = await _dead_letters(consumer, settings.app_id)
        for entry in unreadable:
            report.outcomes["unreadable"] += 1
            report.not_redriven.append(entry)
        for letter in letters:
            if str(letter.dlq_id) in seen:
                report.outcomes["skipped_copy"] += 1
                continue
            seen.add(str(letter.dlq_id))
            if _of_the_lookup(letter, settings.app_id):
                report.note(letter, INTERNAL_RECORD, INTERNAL_RECORD_REASON)
                continue
            outcome, sends = await _redrive_one(letter, reader, stripe_payments)
            report.note(letter, outcome)
            (orphans if outcome == SENT_TO_MERCHANT_LOOKUP else outputs).extend(sends)
        if not dry_run:
            # The orphans last: a payment's fact this run recovered reaches the lookup (same key,
            # same partition, one idempotent producer keeps the order) before its refunds/disputes.
            futures = [await producer.send(topic, value, key=key) for topic, key, value in [*outputs, *orphans]]
            await asyncio.gather(*futures)
            await consumer.commit()
    finally:
        await reader.stop()
        await producer.stop()
        await consumer.stop()
    return report


Output = tuple[str, bytes | None, bytes]
"""(topic, key, value) of a record a redriven dead letter produces."""


async def _redrive_one(letter: DeadLetter, reader: SourceReader, stripe_payments: str) -> tuple[str, list[Output]]:
    """The outcome of one dead letter and what it produces (sent by the caller, unless a dry run)."""
    source = letter.source
    provider = PROVIDER_OF_TOPIC.get(source.topic)
    if provider is None:
        return "unknown_source_topic", []
    message = await reader.read(source.topic, source.partition, source.offset)
    if message is None:
        return "source_gone", []
    key, value = message
    try:
        envelope = decode(provider, value)
        try:
            event = map_envelope(provider, envelope, source)
        except MerchantUnknown as unknown:
            # A Stripe refund or dispute without the merchant: the worker's lookup maps it with its
            # payment's merchant (or dead-letters it again, one more attempt, if it still has none).
            # An orphan too large for the lookup's topic raises a `MappingError`: still failing.
            attempts = letter.attempts + 1
            payment, orphan = stripe_merchants.orphan(unknown.payment, source, key, value or b"", attempts)
            return SENT_TO_MERCHANT_LOOKUP, [(stripe_payments, payment, orphan)]
    except MappingError as exc:
        again = letter.model_copy(
            update={
                "reasons": exc.reasons,
                "attempts": letter.attempts + 1,
                "failed_at": datetime.now(UTC),
                # Redacted again by the current rules: a letter an older version wrote may carry
                # what those rules missed, and this copy restarts the topic's retention.
                "payload_excerpt": redact_excerpt(value or b""),
            }
        )
        return "still_failing", [(DLQ.name, key, again.model_dump_json().encode())]
    except Ignored:  # dead-lettered by an older version (a pending step): no outcome, done
        return "ignored", []
    sends: list[Output] = [(NORMALIZED.name, event.payment_id.encode(), event.model_dump_json().encode())]
    fact = stripe_merchants.fact(envelope, event) if provider is Provider.STRIPE else None
    if fact is not None:  # as the worker: the payment's merchant for its refunds and disputes
        sends.append((stripe_payments, *fact))
    return "recovered", sends


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="redrive", description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--group", help="consumer group that remembers what was redriven (default: <app id>-redrive)")
    parser.add_argument("--dry-run", action="store_true", help="map again and report, publish and commit nothing")
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except ConfigurationError as exc:
        print(exc, file=sys.stderr)
        return 2
    report = asyncio.run(redrive(settings, args.group or f"{settings.app_id}-redrive", args.dry_run))
    print(report.as_json())
    for entry in report.not_redriven:
        print(
            f"not redriven ({entry['outcome']}): dead letter {entry['dlq_id']} of {entry['worker']}, "
            f"source {entry['topic']}[{entry['partition']}] offset {entry['offset']}",
            file=sys.stderr,
        )
    return EXIT_NOT_REDRIVEN if report.not_redriven else 0


if __name__ == "__main__":
    raise SystemExit(main())
