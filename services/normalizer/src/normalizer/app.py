"""The one Faust app: its topics from `contracts.topics`, its dedupe table, agents and web pages."""

from __future__ import annotations

import faust
from faust.types import TopicT

from contracts.reference.providers import Provider
from contracts.topics import DLQ, NORMALIZED, VELOCITY, WEBHOOK_TOPICS, Topic
from normalizer import agents, velocity, web
from normalizer.metrics import Metrics
from normalizer.settings import NormalizerSettings
from normalizer.tables import create_dedupe_table

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
        self.dedupe = create_dedupe_table(self.app, INPUT_PARTITIONS)
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
        self.metrics = Metrics()
        self.failure: str | None = None
        """Why the worker is stopping, once an agent failed: /readyz answers 503 from then on."""

    def fail(self, why: str) -> None:
        self.failure = self.failure or why

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
    agents.install(normalizer)
    if settings.velocity_enabled:
        velocity.install(normalizer)
    web.install(normalizer)
    return normalizer
