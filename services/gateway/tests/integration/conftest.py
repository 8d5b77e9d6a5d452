"""The real broker (from libs/testing) and the gateway's topics on it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from webhook_samples import make_settings

from contracts.topics import QUARANTINE, WEBHOOK_TOPICS
from gateway.asgi import create_app
from gateway.settings import GatewaySettings
from integration.kafka_reader import TopicReader, closed_port, ensure_webhook_topics
from testing.kafka import KafkaServer, kafka_server  # noqa: F401  (re-exported fixture)
from testing.stack import owned_stack  # noqa: F401  (re-exported fixture)


@pytest.fixture(scope="session")
def broker(kafka_server: KafkaServer) -> KafkaServer:  # noqa: F811
    ensure_webhook_topics(kafka_server.bootstrap_servers)
    return kafka_server


@pytest.fixture()
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture()
def kafka_settings(broker: KafkaServer) -> GatewaySettings:
    return make_settings(GATEWAY_KAFKA_BOOTSTRAP_SERVERS=broker.bootstrap_servers)


@pytest.fixture()
async def gateway(kafka_settings: GatewaySettings) -> AsyncIterator[AsyncTestClient[Litestar]]:
    """The whole app with its real Kafka publisher."""
    async with AsyncTestClient(app=create_app(kafka_settings)) as client:
        yield client


@pytest.fixture()
def client(gateway: AsyncTestClient[Litestar]) -> AsyncTestClient[Litestar]:
    return gateway


@pytest.fixture()
def unreachable_settings() -> GatewaySettings:
    """Settings whose broker address is a closed port on this machine."""
    return make_settings(GATEWAY_KAFKA_BOOTSTRAP_SERVERS=closed_port())


@pytest.fixture()
async def gateway_without_broker(unreachable_settings: GatewaySettings) -> AsyncIterator[AsyncTestClient[Litestar]]:
    """The whole app with its real Kafka publisher, configured with a broker that cannot be reached."""
    async with AsyncTestClient(app=create_app(unreachable_settings)) as client:
        yield client


@pytest.fixture()
async def reader(broker: KafkaServer) -> AsyncIterator[TopicReader]:
    """Reads what was appended to the webhook and quarantine topics after the test started."""
    topics = [*(t.name for t in WEBHOOK_TOPICS.values()), QUARANTINE.name]
    async with TopicReader(broker.bootstrap_servers, topics) as reader:
        yield reader


def pytest_configure(config: pytest.Config) -> None:
    """Print how many examples each property test really ran (and how many were filtered out),
    so that a shrinking number of examples shows in every run instead of passing silently."""
    config.option.hypothesis_show_statistics = True
