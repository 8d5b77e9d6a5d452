"""The normalizer's topics, created up front with the contracts' partition counts and retention.

Kafka would otherwise create a topic on first use with the broker's default partition count,
and the dedupe table's changelog must have as many partitions as the topics it is keyed with.
An existing topic with another partition count stops the worker at start, named.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable

from aiokafka.admin import AIOKafkaAdminClient, NewTopic  # type: ignore[import-untyped]  # no py.typed
from aiokafka.errors import TopicAlreadyExistsError  # type: ignore[import-untyped]

from contracts.topics import DLQ, NORMALIZED, VELOCITY, WEBHOOK_TOPICS, Topic

TOPICS: tuple[Topic, ...] = (*WEBHOOK_TOPICS.values(), NORMALIZED, DLQ, VELOCITY)
"""What the normalizer reads and writes."""


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


async def ensure_topics(bootstrap_servers: str, replication_factor: int, topics: Iterable[Topic] = TOPICS) -> None:
    """Create the missing topics; raise `TopicMismatchError` for one with other partitions."""
    wanted = {topic.name: topic for topic in topics}
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [
            NewTopic(
                topic.name,
                num_partitions=topic.partitions,
                replication_factor=replication_factor,
                topic_configs={"retention.ms": str(topic.retention_ms)},
            )
            for name, topic in wanted.items()
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
