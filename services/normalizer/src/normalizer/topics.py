"""The normalizer's topics, created up front with the contracts' partition counts and retention.

Kafka would otherwise create a topic on first use with the broker's default partition count,
and the dedupe table's changelog must have as many partitions as the topics it is keyed with.
An existing topic with another partition count stops the worker at start, named.

The app's own topics (table changelogs, the velocity marks) are created here too, before the
worker joins its group, with the settings Faust would give them: when Faust created them itself
during start-up, a group join could run before the new topic was in the broker's metadata, and
the assignor then left it out ("Ignoring missing topic"): a table without its partitions, and a
worker that never committed again (1 start in 4 on a loaded host).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from aiokafka.admin import AIOKafkaAdminClient, NewTopic  # type: ignore[import-untyped]  # no py.typed
from aiokafka.errors import TopicAlreadyExistsError  # type: ignore[import-untyped]
from faust.types import TopicT
from mode.utils.times import want_seconds

from contracts.topics import DLQ, NORMALIZED, VELOCITY, WEBHOOK_TOPICS, Topic

TOPICS: tuple[Topic, ...] = (*WEBHOOK_TOPICS.values(), NORMALIZED, DLQ, VELOCITY)
"""What the normalizer reads and writes."""


@dataclass(frozen=True)
class TopicSpec:
    """A topic to create: name, partition count and topic configs."""

    name: str
    partitions: int
    configs: Mapping[str, str] = field(default_factory=dict)


def contract_topic(topic: Topic) -> TopicSpec:
    return TopicSpec(topic.name, topic.partitions, {"retention.ms": str(topic.retention_ms)})


def faust_topic(topic: TopicT) -> TopicSpec:
    """The spec Faust's own `declare()` would create (cleanup policy and retention included)."""
    policies = [policy for policy, on in (("compact", topic.compacting), ("delete", topic.deleting)) if on]
    configs = {"cleanup.policy": ",".join(policies)} if policies else {}
    if topic.retention:
        configs["retention.ms"] = str(int(want_seconds(topic.retention) * 1000))
    configs.update({key: str(value) for key, value in (topic.config or {}).items()})
    (name,) = topic.topics
    if not topic.partitions:
        raise ValueError(f"internal topic {name} has no partition count")
    return TopicSpec(name, topic.partitions, configs)


class TopicMismatchError(RuntimeError):
    """An existing topic's partition count is not the contracts' one."""


async def _partition_counts(admin: AIOKafkaAdminClient, names: list[str]) -> dict[str, int]:
    """Partitions per topic, counting only topics whose every partition has a leader."""
    described = await admin.describe_topics(names)
    return {
        item["topic"]: len(item["partitions"])
        for item in described
        if not item["error_code"] and all(p["leader"] >= 0 and not p["error_code"] for p in item["partitions"])
    }


async def ensure_topics(
    bootstrap_servers: str, replication_factor: int, topics: Iterable[Topic | TopicSpec] = TOPICS
) -> None:
    """Create the missing topics and wait until every partition has a leader; raise
    `TopicMismatchError` for one with other partitions."""
    specs = [topic if isinstance(topic, TopicSpec) else contract_topic(topic) for topic in topics]
    wanted = {spec.name: spec for spec in specs}
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [
            NewTopic(
                spec.name,
                num_partitions=spec.partitions,
                replication_factor=replication_factor,
                topic_configs=dict(spec.configs),
            )
            for name, spec in wanted.items()
            if name not in existing
        ]
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):  # another worker created them meanwhile
                await admin.create_topics(missing)
        deadline = asyncio.get_running_loop().time() + 30
        while True:
            counts = await _partition_counts(admin, list(wanted))
            if len(counts) == len(wanted) or asyncio.get_running_loop().time() > deadline:
                break
            await asyncio.sleep(0.1)  # polling interval while the controller creates them
    finally:
        await admin.close()
    wrong = {name: counts.get(name) for name, topic in wanted.items() if counts.get(name) != topic.partitions}
    if wrong:
        details = ", ".join(f"{name} has {n} (contracts: {wanted[name].partitions})" for name, n in wrong.items())
        raise TopicMismatchError(f"topics with the wrong partition count: {details}")
