"""Topics: compose creates exactly contracts' topics, and no deploy file names any other."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from deploy_drift.compose import kafka_init_topics
from deploy_drift.deployment import DOCKER, KUBERNETES

from contracts.topics import ALL_TOPICS

DOMAINS = sorted({topic.name.split(".", 1)[0] for topic in ALL_TOPICS})
TOPIC_LIKE = re.compile(rf"\b(?:{'|'.join(DOMAINS)})\.[a-z_]+\.v[0-9]+\b")
"""`domain.entity.vN` with a domain of contracts' topics (`webhooks`, `payments`, ...)."""


def test_kafka_init_creates_the_contract_topics(compose: dict[str, Any]) -> None:
    expected = {topic.name: (topic.partitions, topic.retention_ms) for topic in ALL_TOPICS}
    assert kafka_init_topics(compose) == expected


def test_every_topic_named_in_a_deploy_file_is_a_contract_topic() -> None:
    names = {topic.name for topic in ALL_TOPICS}
    files = [*DOCKER.rglob("*.yml"), *DOCKER.rglob("*.yaml"), *DOCKER.rglob("*.example"), *KUBERNETES.rglob("*.yaml")]
    unknown = sorted(
        f"{path.relative_to(Path.cwd())}: {name}"
        for path in files
        for name in TOPIC_LIKE.findall(path.read_text())
        if name not in names
    )
    assert len(files) > 10
    assert TOPIC_LIKE.findall("ORCHESTRATOR_DLQ_TOPIC=payments.dlq.v2") == ["payments.dlq.v2"]  # it can fail
    assert not unknown, "topics not in contracts.topics:\n" + "\n".join(unknown)
