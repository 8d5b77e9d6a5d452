"""`./pants run services/gateway:redrive -- [--provider P] [--dry-run]`: re-drive quarantined webhooks.

Reads every record on `webhooks.quarantine.v1` (up to its end when the run starts) and validates
each body again with the gateway's current validation (`intake.Decoder`: the contract models of
this build). A body that now passes is published to `webhooks.<provider>.v1` exactly as the
gateway would have published it on receipt (same envelope, `received_at` and signature key id).
Signatures are not checked again: they were verified on receipt, which is the only reason the body
was quarantined rather than refused, and their timestamps have long expired.

Once each: a provider event id already present as a key on its webhook topic (an earlier redrive,
or a redelivery the provider made after the contract was fixed) is not published again, and
several quarantined copies of one event are published once. What stays quarantined is reported
with its reasons; the quarantine topic itself is never modified (its 30-day retention ages records
out).

Limit of "once": it is judged only by the keys still on `webhooks.<provider>.v1`, whose retention
is 7 days, while the quarantine keeps a record 30 days. A record redriven (or redelivered and
accepted) more than 7 days before a later run may have aged out of the webhook topic, and that run
publishes it again. The report names every record it published (topic, key, partition, offset) so
that such a duplicate can be traced; consumers must treat the provider event id as the dedup key.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition  # type: ignore[import-untyped]
from pydantic import ValidationError
from service_kit import ServiceError, settings_or_exit

from contracts.reference.providers import Provider
from contracts.schemas.quarantine import QuarantinedWebhook
from contracts.topics import QUARANTINE, webhook_topic
from gateway.errors import SchemaMismatchError
from gateway.intake import Decoder, Delivery
from gateway.settings import load_redrive_settings

READ_TIMEOUT_SECONDS = 60.0


@dataclass
class Report:
    dry_run: bool = False
    redriven: list[dict[str, Any]] = field(default_factory=list)
    """Published to the webhook topic in this run (or, in a dry run, to be published): quarantine
    id, provider, event ids, and `published`: each record's topic and key, and once the broker
    acknowledged it its partition and offset."""
    already_delivered: list[dict[str, Any]] = field(default_factory=list)
    """Passed validation, but every event id was already on its webhook topic."""
    still_quarantined: list[dict[str, Any]] = field(default_factory=list)
    """Still refused by the current validation, with the reasons."""
    unreadable: list[dict[str, Any]] = field(default_factory=list)
    """Records on the quarantine topic that are not `QuarantinedWebhook`s (position given)."""

    def as_json(self) -> str:
        return json.dumps(
            {
                "dry_run": self.dry_run,
                "redriven": self.redriven,
                "already_delivered": self.already_delivered,
                "still_quarantined": self.still_quarantined,
                "unreadable": self.unreadable,
            },
            indent=2,
        )


async def _read_all(
    bootstrap: str, producer: AIOKafkaProducer, topics: Sequence[str], timeout: float
) -> list[tuple[str, int, int, bytes, bytes]]:
    """Every record of `topics` from the beginning up to their end offsets as of now."""
    # The producer's `partitions_for` fetches a topic's metadata (the consumer's only reads a cache).
    partitions = [
        TopicPartition(topic, partition)
        for topic in topics
        for partition in sorted(await producer.partitions_for(topic))
    ]
    if not partitions:
        return []
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None)
    await consumer.start()
    try:
        consumer.assign(partitions)
        end = await consumer.end_offsets(partitions)
        begin = await consumer.beginning_offsets(partitions)
        for tp in partitions:
            consumer.seek(tp, begin[tp])
        remaining = {tp for tp in partitions if end[tp] > begin[tp]}
        records: list[tuple[str, int, int, bytes, bytes]] = []
        async with asyncio.timeout(timeout):
            while remaining:
                batches = await consumer.getmany(*remaining, timeout_ms=500)
                for tp, messages in batches.items():
                    records.extend(
                        (tp.topic, tp.partition, m.offset, m.key or b"", m.value or b"")
                        for m in messages
                        if m.offset < end[tp]
                    )
                remaining = {tp for tp in remaining if await consumer.position(tp) < end[tp]}
        return records
    finally:
        await consumer.stop()


async def redrive(
    bootstrap_servers: str,
    *,
    decoder: Decoder | None = None,
    providers: Iterable[Provider] = tuple(Provider),
    dry_run: bool = False,
    timeout: float = READ_TIMEOUT_SECONDS,
) -> Report:
    """Re-validate every quarantined webhook; publish those that pass, once each."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        return await _redrive(bootstrap_servers, producer, decoder or Decoder(), set(providers), dry_run, timeout)
    finally:
        await producer.stop()


async def _redrive(
    bootstrap_servers: str,
    producer: AIOKafkaProducer,
    decoder: Decoder,
    wanted: set[Provider],
    dry_run: bool,
    timeout: float,
) -> Report:
    report = Report(dry_run=dry_run)
    quarantined = await _read_all(bootstrap_servers, producer, [QUARANTINE.name], timeout)
    webhook_topics = [webhook_topic(provider).name for provider in wanted]
    delivered_keys = {
        (topic, key) for topic, _, _, key, _ in await _read_all(bootstrap_servers, producer, webhook_topics, timeout)
    }
    pending: list[tuple[str, bytes, bytes, dict[str, Any]]] = []
    for _, partition, offset, _, value in quarantined:
        try:
            record = QuarantinedWebhook.model_validate_json(value)
        except ValidationError:
            report.unreadable.append({"topic": QUARANTINE.name, "partition": partition, "offset": offset})
            continue
        if record.provider not in wanted:
            continue
        entry: dict[str, Any] = {"quarantine_id": str(record.quarantine_id), "provider": record.provider.value}
        delivery = Delivery(
            record.body(),
            {"content-type": record.content_type, **record.headers},
            record.received_at,
            record.received_at.timestamp(),
        )
        try:
            accepted = decoder.decode(record.provider, delivery, record.signature_key_ids or ("",))
        except SchemaMismatchError as exc:
            report.still_quarantined.append({**entry, "reasons": exc.errors})
            continue
        except ServiceError as exc:
            report.still_quarantined.append({**entry, "reasons": [{"type": str(exc.reason), "msg": str(exc.detail)}]})
            continue
        messages = [m for m in accepted.messages() if (m.topic, m.key) not in delivered_keys]
        entry["event_ids"] = [envelope.provider_event_id for envelope in accepted.envelopes]
        if not messages:
            report.already_delivered.append(entry)
            continue
        entry["published"] = []
        for message in messages:
            delivered_keys.add((message.topic, message.key))  # a second quarantined copy: once
            published = {"topic": message.topic, "key": message.key.decode()}
            entry["published"].append(published)
            pending.append((message.topic, message.key, message.value, published))
        report.redriven.append(entry)
    if pending and not dry_run:
        # Idempotent producer, acks=all: the report is printed only once every message is acknowledged.
        futures = [await producer.send(topic, value, key=key) for topic, key, value, _ in pending]
        for metadata, (_, _, _, published) in zip(await asyncio.gather(*futures), pending, strict=True):
            published["partition"] = metadata.partition
            published["offset"] = metadata.offset
    return report


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="redrive", description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--bootstrap-servers",
        help="Kafka bootstrap servers (default: $GATEWAY_KAFKA_BOOTSTRAP_SERVERS; one of the two is required)",
    )
    parser.add_argument(
        "--provider", action="append", choices=[p.value for p in Provider], help="only this provider (repeatable)"
    )
    parser.add_argument("--dry-run", action="store_true", help="report what would be published, publish nothing")
    args = parser.parse_args(argv)
    given = {} if args.bootstrap_servers is None else {"kafka_bootstrap_servers": args.bootstrap_servers}
    # No default broker: missing or malformed, it stops here (exit 2) with the variable named.
    settings = settings_or_exit("redrive", lambda: load_redrive_settings(**given))
    providers = [Provider(p) for p in args.provider] if args.provider else list(Provider)
    report = asyncio.run(redrive(settings.kafka_bootstrap_servers, providers=providers, dry_run=args.dry_run))
    print(report.as_json())
    print(
        f"redriven {len(report.redriven)}, already delivered {len(report.already_delivered)}, "
        f"still quarantined {len(report.still_quarantined)}, unreadable {len(report.unreadable)}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
