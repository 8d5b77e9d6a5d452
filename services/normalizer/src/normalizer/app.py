"""The one Faust app: its topics from `contracts.topics`, its dedupe table, agents and web pages."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Mapping
from typing import Any

import faust
from faust.types import TP, TopicT

from contracts.reference.providers import Provider
from contracts.topics import DLQ, NORMALIZED, VELOCITY, WEBHOOK_TOPICS, Topic
from normalizer import agents, stripe_merchants, velocity, web
from normalizer.metrics import Metrics
from normalizer.settings import NormalizerSettings
from normalizer.stalls import Progress, Watchdog
from normalizer.tables import create_dedupe_table, expire

PARTITIONS = {topic.partitions for topic in WEBHOOK_TOPICS.values()}
VELOCITY_PARTITIONS = velocity.VELOCITY_PARTITIONS
if len(PARTITIONS) != 1:  # the dedupe table's changelog is co-partitioned with every input
    raise RuntimeError(f"the webhook topics must share one partition count, not {sorted(PARTITIONS)}")
(INPUT_PARTITIONS,) = PARTITIONS
PRODUCER_BATCH_BYTES = 512 * 1024
PRODUCER_LINGER_SECONDS = 0.02


class Normalizer:
    """The app with everything it is wired to: topics, table, metrics, settings."""

    def __init__(self, settings: NormalizerSettings) -> None:
        self.settings = settings
        self.app = faust.App(
            settings.app_id,
            broker=[f"kafka://{server.strip()}" for server in settings.kafka_bootstrap_servers.split(",")],
            store="memory://",
            datadir=settings.data_dir,
            topic_partitions=INPUT_PARTITIONS,
            topic_replication_factor=settings.replication_factor,
            topic_allow_declare=True,
            consumer_auto_offset_reset="earliest",
            broker_session_timeout=settings.session_timeout_seconds,
            broker_heartbeat_interval=settings.heartbeat_interval_seconds,
            broker_rebalance_timeout=settings.rebalance_timeout_seconds,
            broker_commit_interval=settings.commit_interval_seconds,
            producer_acks=-1,
            # Envelopes are kilobytes: with Kafka's 16 KiB batches a partition holds a handful of
            # records per round trip and every further send waits. Larger batches, and a linger of
            # 20 ms (5 ms before): fewer produce requests, whose socket writes were ~15 % of the
            # worker's profile; the bench went from 293-834 to 949-1,004 events/s (README).
            producer_max_batch_size=PRODUCER_BATCH_BYTES,
            producer_linger=PRODUCER_LINGER_SECONDS,
            web_enabled=True,
            web_bind=settings.web_host,
            web_host=settings.web_host,
            web_port=settings.web_port,
            web_in_thread=False,
            key_serializer="raw",
            value_serializer="raw",
        )
        self.inputs: dict[Provider, TopicT] = {
            provider: self.topic(topic) for provider, topic in WEBHOOK_TOPICS.items()
        }
        self.normalized = self.topic(NORMALIZED)
        self.dlq = self.topic(DLQ)
        self.dedupe = create_dedupe_table(self.app, INPUT_PARTITIONS, settings.dedupe_window_seconds)
        self.velocity_out = self.topic(VELOCITY)
        # Internal: declared by Faust at start, named after the app (one per consumer group).
        self.velocity_entities = self.app.topic(
            f"{settings.app_id}-velocity-entities",
            partitions=VELOCITY_PARTITIONS,
            retention=VELOCITY.retention_ms / 1000,
            replicas=settings.replication_factor,
            internal=True,
            key_serializer="raw",
            value_serializer="raw",
        )
        self.velocity = velocity.create_velocity_table(self.app, VELOCITY_PARTITIONS)
        # Stripe payment id -> merchant facts and orphaned refunds/disputes (`stripe_merchants`),
        # with the webhook topics' partitions and retention; its table is co-partitioned with it.
        self.stripe_payments = self.app.topic(
            stripe_merchants.topic_name(settings.app_id),
            partitions=stripe_merchants.PARTITIONS,
            retention=stripe_merchants.RETENTION_MS / 1000,
            replicas=settings.replication_factor,
            internal=True,
            key_serializer="raw",
            value_serializer="raw",
        )
        self.stripe_merchants = stripe_merchants.create_table(
            self.app, INPUT_PARTITIONS, settings.stripe_merchant_retention_seconds
        )
        self.metrics = Metrics()
        self.progress = Progress()
        self.failure: str | None = None
        """Why the worker is stopping, once an agent failed: /readyz answers 503 from then on."""

    def internal_topics(self) -> list[TopicT]:
        """The topics the app owns (table changelogs, velocity marks, Stripe payments): created
        before it starts."""
        changelogs = [table.changelog_topic for table in (self.dedupe, self.velocity, self.stripe_merchants)]
        return [*changelogs, self.velocity_entities, self.stripe_payments]

    def fail(self, why: str) -> None:
        self.failure = self.failure or why

    async def send(
        self, topic: str, key: bytes | None, value: bytes | None, partition: int | None = None
    ) -> Awaitable[Any]:
        """Hand a record to the producer; the returned future resolves on the broker's acknowledgement.

        Straight to Faust's producer rather than through `Topic.send`: the same aiokafka producer
        (acks=all), without a `FutureMessage` and sensor round per record."""
        return await self.app.producer.send(topic, key, value, partition, None, None)

    def topic(self, topic: Topic) -> TopicT:
        """A Faust topic with the contracts' name, partitions and retention; declared at start."""
        return self.app.topic(
            topic.name,
            partitions=topic.partitions,
            retention=topic.retention_ms / 1000,
            replicas=self.settings.replication_factor,
            key_serializer="raw",
            value_serializer="raw",
        )


def create_app(settings: NormalizerSettings) -> Normalizer:
    """The app with its agents and web pages installed."""
    normalizer = Normalizer(settings)
    workers = agents.install(normalizer)
    _install_watchdog(normalizer, {normalizer.inputs[p].get_topic_name(): w for p, w in workers.items()})
    _install_expiry(normalizer)
    stripe_merchants.install(normalizer)
    if settings.velocity_enabled:
        velocity.install(normalizer)
    web.install(normalizer)
    return normalizer


def _install_watchdog(normalizer: Normalizer, workers: dict[str, agents.ProviderAgent]) -> None:
    """Every `stall_seconds`, seek input partitions whose commit stalled back to it (`stalls`)."""
    app, settings = normalizer.app, normalizer.settings

    def stalled(tp: TP) -> None:
        normalizer.metrics.stalls += 1

    watchdog = Watchdog(
        settings.kafka_bootstrap_servers,
        settings.app_id,
        normalizer.progress,
        busy=lambda topic: workers[topic].busy(),
        on_stall=stalled,
    )

    async def offsets(assigned: set[TP]) -> tuple[Mapping[TP, int], Mapping[TP, int]]:
        """The broker's end and start offsets: what the consumer fetched may be nothing at all."""
        return await app.consumer.highwaters(*assigned), await app.consumer.earliest_offsets(*assigned)

    @app.timer(interval=settings.stall_seconds)  # type: ignore[misc]  # Faust's decorator is untyped
    async def unstall() -> None:
        if app.rebalancing or not app.tables.recovery.completed.is_set():  # type: ignore[attr-defined]
            return  # offsets move under a rebalance; look again once it is over
        assigned = {tp for tp in app.consumer.assignment() if tp.topic in workers}
        if not assigned:
            return
        for tp, offset in await watchdog.check(assigned, offsets):
            await app.consumer.seek(tp, offset)


def _install_expiry(normalizer: Normalizer) -> None:
    """Every `dedupe_expiry_interval_seconds`, drop the dedupe marks past their lifetime (`tables`)."""
    settings = normalizer.settings

    @normalizer.app.timer(interval=settings.dedupe_expiry_interval_seconds)  # type: ignore[misc]  # untyped
    async def expire_marks() -> None:
        expired = expire(normalizer.dedupe.data, time.time(), settings.dedupe_window_seconds)
        normalizer.metrics.dedupe_expired += expired
