"""What actually happened, read from the platform itself: the topics, the store, the metrics.

Counts come from the records on the contracts topics (read from the beginning, no consumer
group), rows of the payments store, and the services' Prometheus counters; never from what the
demo itself sent. The reconciliation in `report` compares these independent sources.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition  # type: ignore[import-untyped]  # no py.typed

from contracts.reference.providers import Provider
from contracts.schemas.normalized_event import event_id_for
from contracts.topics import DECISIONS, DLQ, NORMALIZED, VELOCITY, WEBHOOK_TOPICS

WEBHOOK_TOPIC_NAMES = frozenset(topic.name for topic in WEBHOOK_TOPICS.values())
DECIDING_EVENT_TYPES = frozenset({"payment.authorized", "payment.captured", "payment.succeeded", "payment.failed"})
"""Event types that open a payment and are decided (the orchestrator's `DECIDING_EVENTS`)."""

_SAMPLE = re.compile(r"^(?P<name>[a-z_]+)\{(?P<labels>[^}]*)\}\s+(?P<value>[0-9.eE+-]+)$")
_LABEL = re.compile(r'(\w+)="([^"]*)"')


@dataclass
class Position:
    topic: str
    partition: int
    offset: int


@dataclass
class TopicTally:
    """Everything the run needs from the topics, updated as records arrive."""

    webhook_records: int = 0
    webhooks_by_provider: Counter[str] = field(default_factory=Counter)
    webhook_event_ids: Counter[tuple[str, str]] = field(default_factory=Counter)
    webhook_timestamp_ms: dict[tuple[str, int, int], int] = field(default_factory=dict)
    normalized: int = 0
    normalized_by_type: Counter[str] = field(default_factory=Counter)
    deciding_events: dict[str, str] = field(default_factory=dict)
    """event_id -> payment_id of every deciding normalized event."""
    payments_to_decide: set[str] = field(default_factory=set)
    normalized_source_ms: dict[str, int] = field(default_factory=dict)
    """event_id -> Kafka timestamp of the webhook record it came from (the gateway's publish)."""
    dead_letters_by_stage: Counter[str] = field(default_factory=Counter)
    dead_letters_by_reason: Counter[tuple[str, str]] = field(default_factory=Counter)
    decisions: int = 0
    decisions_by_payment: Counter[str] = field(default_factory=Counter)
    decisions_by_outcome: Counter[str] = field(default_factory=Counter)
    decisions_by_model: Counter[str] = field(default_factory=Counter)
    """fraud_model_version of each decision: which model scored the wave."""
    decision_times_ms: list[int] = field(default_factory=list)
    decision_bodies: dict[str, set[str]] = field(default_factory=dict)
    """payment_id -> its decision records (canonical JSON): a byte-identical one again is a copy."""
    decision_copies: int = 0
    """Decision records identical to one already published (the publish activity retried after a
    crash: at-least-once), not second decisions."""
    decision_latencies_ms: list[float] = field(default_factory=list)
    normalize_latencies_ms: list[float] = field(default_factory=list)
    """Webhook record -> normalized record, per deciding event (the normalizer's share)."""
    normalized_at_ms: dict[str, int] = field(default_factory=dict)
    first_webhook_ms: int | None = None
    last_decision_ms: int | None = None
    webhook_event_at: dict[tuple[str, int, int], str] = field(default_factory=dict)
    """Position of each webhook record -> the event id the normalizer derives from it."""
    normalized_ids: Counter[str] = field(default_factory=Counter)
    normalizer_dead_ids: set[str] = field(default_factory=set)
    """Event ids of webhook records the normalizer dead-lettered (through the dead letter's source)."""
    velocity_records: int = 0
    """Records on `features.velocity.v1` (the normalizer's streaming features, for the push consumer)."""
    velocity_by_entity: Counter[str] = field(default_factory=Counter)

    def add(self, topic: str, partition: int, offset: int, timestamp_ms: int, value: bytes) -> None:
        body: dict[str, Any] = json.loads(value)
        if topic in WEBHOOK_TOPIC_NAMES:
            self.webhook_records += 1
            self.webhooks_by_provider[body["provider"]] += 1
            self.webhook_event_ids[(body["provider"], body["provider_event_id"])] += 1
            self.webhook_timestamp_ms[(topic, partition, offset)] = timestamp_ms
            event_id = event_id_for(Provider(body["provider"]), body["provider_event_id"])
            self.webhook_event_at[(topic, partition, offset)] = str(event_id)
            self.first_webhook_ms = min(timestamp_ms, self.first_webhook_ms or timestamp_ms)
        elif topic == NORMALIZED.name:
            self.normalized += 1
            self.normalized_by_type[body["event_type"]] += 1
            self.normalized_ids[body["event_id"]] += 1
            source = body.get("source")
            sent_ms = None
            if source is not None:
                sent_ms = self.webhook_timestamp_ms.get((source["topic"], source["partition"], source["offset"]))
            if sent_ms is not None:
                self.normalized_source_ms[body["event_id"]] = sent_ms
                self.normalized_at_ms[body["event_id"]] = timestamp_ms
            if body["event_type"] in DECIDING_EVENT_TYPES:
                self.deciding_events[body["event_id"]] = body["payment_id"]
                self.payments_to_decide.add(body["payment_id"])
        elif topic == DLQ.name:
            self.dead_letters_by_stage[body["stage"]] += 1
            position = body["source"]  # required in a dead letter
            dead = self.webhook_event_at.get(
                (str(position["topic"]), int(position["partition"]), int(position["offset"]))
            )
            if body["stage"] == "normalizer" and dead is not None:
                self.normalizer_dead_ids.add(dead)
            for reason in body["reasons"][:1]:
                self.dead_letters_by_reason[(body["stage"], reason["code"])] += 1
        elif topic == VELOCITY.name:
            self.velocity_records += 1
            self.velocity_by_entity[body["entity"]] += 1
        elif topic == DECISIONS.name:
            seen = self.decision_bodies.setdefault(body["payment_id"], set())
            canonical = json.dumps(body, sort_keys=True)
            if canonical in seen:
                self.decision_copies += 1
                return
            seen.add(canonical)
            self.decisions += 1
            self.decisions_by_payment[body["payment_id"]] += 1
            self.decisions_by_outcome[body["decision"]] += 1
            self.decisions_by_model[body["fraud_model_version"]] += 1
            self.decision_times_ms.append(timestamp_ms)
            self.last_decision_ms = max(timestamp_ms, self.last_decision_ms or timestamp_ms)
            sent_ms = self.normalized_source_ms.get(body["event_id"])
            if sent_ms is not None:
                self.decision_latencies_ms.append(float(timestamp_ms - sent_ms))
                self.normalize_latencies_ms.append(float(self.normalized_at_ms[body["event_id"]] - sent_ms))

    @property
    def lost_events(self) -> set[str]:
        """Accepted event ids neither normalized nor dead-lettered by the normalizer."""
        return set(self.webhook_event_at.values()) - set(self.normalized_ids) - self.normalizer_dead_ids

    @property
    def replayed(self) -> int:
        """Normalized records of an event already normalized (at-least-once after a crash)."""
        return sum(count - 1 for count in self.normalized_ids.values())

    @property
    def duplicate_webhooks(self) -> int:
        """Envelopes whose provider event id was published before (re-deliveries)."""
        return sum(count - 1 for count in self.webhook_event_ids.values())


class TopicReader:
    """Reads the webhook, normalized, dead-letter, decision and velocity topics from their beginning.

    One consumer with manually assigned partitions and no group: it commits nothing and changes
    nothing the services see. Topics are read in that order within each poll, so a decision's
    source event is usually known when the decision arrives; latencies of decisions read before
    their source (a slower partition) are simply not sampled.
    """

    def __init__(self, bootstrap: str, start: dict[tuple[str, int], int] | None = None) -> None:
        self.bootstrap = bootstrap
        self.start_offsets = start or {}
        """(topic, partition) -> offset to read from (a later wave starts where the last one ended)."""
        self.tally = TopicTally()
        self._consumer: AIOKafkaConsumer | None = None

    async def start(self) -> None:
        # The demo created these topics with the contracts' partition counts.
        topics = [*WEBHOOK_TOPICS.values(), NORMALIZED, DLQ, DECISIONS, VELOCITY]
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap, enable_auto_commit=False, auto_offset_reset="earliest"
        )
        await self._consumer.start()
        partitions = [TopicPartition(topic.name, p) for topic in topics for p in range(topic.partitions)]
        self._consumer.assign(partitions)
        await self._consumer.seek_to_beginning(*partitions)
        for tp in partitions:
            offset = self.start_offsets.get((tp.topic, tp.partition))
            if offset is not None:
                self._consumer.seek(tp, offset)

    async def positions(self) -> dict[tuple[str, int], int]:
        """Where reading stopped: the next wave's start."""
        assert self._consumer is not None, "start() first"
        return {(tp.topic, tp.partition): await self._consumer.position(tp) for tp in self._consumer.assignment()}

    async def stop(self) -> None:
        if self._consumer is not None:
            await self._consumer.stop()

    async def poll(self, timeout_ms: int = 500) -> int:
        """Read what has arrived; returns the number of records read."""
        assert self._consumer is not None, "start() first"
        batch = await self._consumer.getmany(timeout_ms=timeout_ms, max_records=5000)
        order = sorted(batch.items(), key=lambda item: _topic_rank(item[0].topic))
        read = 0
        for tp, records in order:
            for record in records:
                self.tally.add(tp.topic, tp.partition, record.offset, record.timestamp, record.value or b"")
                read += 1
        return read


def _topic_rank(topic: str) -> int:
    if topic in WEBHOOK_TOPIC_NAMES:
        return 0
    return {NORMALIZED.name: 1, DLQ.name: 2, DECISIONS.name: 3, VELOCITY.name: 4}[topic]


@dataclass(frozen=True)
class StoreTally:
    decision_rows: int
    decided_payments: int
    payments: int
    payment_events: int
    dead_letters: int

    def __sub__(self, before: StoreTally) -> StoreTally:
        """What was added since `before` (a wave's share of a store that already held history)."""
        return StoreTally(
            self.decision_rows - before.decision_rows,
            self.decided_payments - before.decided_payments,
            self.payments - before.payments,
            self.payment_events - before.payment_events,
            self.dead_letters - before.dead_letters,
        )


def read_store(path: Path) -> StoreTally:
    """Row counts of the payments store (SQLite file; read-only connection)."""
    if not path.exists():
        return StoreTally(0, 0, 0, 0, 0)
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10) as db:

        def one(sql: str) -> int:
            try:
                return int(db.execute(sql).fetchone()[0])
            except sqlite3.OperationalError:  # the worker has not created the table yet
                return 0

        return StoreTally(
            decision_rows=one("SELECT count(*) FROM decisions"),
            decided_payments=one("SELECT count(DISTINCT payment_id) FROM decisions"),
            payments=one("SELECT count(*) FROM payments"),
            payment_events=one("SELECT count(*) FROM payment_events"),
            dead_letters=one("SELECT count(*) FROM dead_letters"),
        )


def parse_counters(text: str, name: str) -> list[tuple[dict[str, str], float]]:
    """Samples of one metric from Prometheus' text format: (labels, value)."""
    samples = []
    for line in text.splitlines():
        match = _SAMPLE.match(line.strip())
        if match and match["name"] == name:
            samples.append((dict(_LABEL.findall(match["labels"])), float(match["value"])))
    return samples
