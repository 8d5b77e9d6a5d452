"""Kafka for tests: a broker per pytest process (or the one in KAFKA_BOOTSTRAP_SERVERS), and a
fresh topic per test, created up front so partition counts are what the test expects.

In a conftest: `from testing.kafka import kafka  # noqa: F401`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from local_stack.kafka_admin import create_topics, delete_topics
from testing.names import unique_name
from testing.stack import owned_stack_for

ENV_VAR = "KAFKA_BOOTSTRAP_SERVERS"


@dataclass(frozen=True)
class KafkaServer:
    bootstrap_servers: str
    owned: bool  # False when reused from KAFKA_BOOTSTRAP_SERVERS

    def create_topic(self, label: str, partitions: int = 1) -> str:
        """A new topic named after `label`; returns once every partition has a leader."""
        topic = unique_name(label, max_length=200)
        create_topics(self.bootstrap_servers, [topic], partitions=partitions)
        return topic

    def delete_topic(self, topic: str) -> None:
        delete_topics(self.bootstrap_servers, [topic])


@dataclass(frozen=True)
class KafkaTopic:
    """What a test needs to talk to its own topic."""

    bootstrap_servers: str
    topic: str
    partitions: int


def kafka_server_for(config: pytest.Config) -> KafkaServer:
    external = os.environ.get(ENV_VAR)
    if external:
        return KafkaServer(external, owned=False)
    stack = owned_stack_for(config)
    stack.up(["kafka"])
    return KafkaServer(stack.service("kafka").address(), owned=True)


@pytest.fixture(scope="session")
def kafka_server(request: pytest.FixtureRequest) -> KafkaServer:
    """The broker for this pytest process: reused from the environment, else started."""
    return kafka_server_for(request.config)


@pytest.fixture()
def kafka(request: pytest.FixtureRequest) -> Iterator[KafkaTopic]:
    """A fresh single-partition topic for this test, deleted afterwards."""
    server = kafka_server_for(request.config)
    topic = server.create_topic(request.node.name)
    yield KafkaTopic(server.bootstrap_servers, topic, partitions=1)
    server.delete_topic(topic)
