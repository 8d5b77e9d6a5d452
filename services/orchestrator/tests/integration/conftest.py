"""Real servers for the orchestrator: Temporal, Kafka and PostgreSQL from libs/testing, a real
Feast feature server, and the real inference process reading it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from integration.support import Topics, start_feature_store, start_inference
from orchestrator.settings import OrchestratorSettings, load_settings
from orchestrator.worker import build_worker, payment_activities
from testing.kafka import KafkaServer, kafka_server  # noqa: F401  (re-exported fixture)
from testing.postgres import PostgresDatabase, postgres  # noqa: F401  (re-exported fixture)
from testing.processes import ServerProcess, free_port
from testing.temporal import TemporalTarget, temporal, temporal_server  # noqa: F401  (re-exported fixture)


@pytest.fixture()
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def feature_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with start_feature_store(tmp_path_factory.mktemp("feature_repo")) as server:
        yield server


@pytest.fixture(scope="session")
def inference(feature_store: ServerProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with start_inference(feature_store.base_url, tmp_path_factory.mktemp("inference")) as server:
        yield server


@pytest.fixture()
def topics(kafka_server: KafkaServer, request: pytest.FixtureRequest) -> Topics:  # noqa: F811
    return Topics.create(kafka_server, request.node.name[:40])


@pytest.fixture(params=["sqlite"])
def store_dsn(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The store of this test; fault tests parametrize over PostgreSQL too (`indirect`)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/payments.db"
    database: PostgresDatabase = request.getfixturevalue("postgres")
    return database.dsn.replace("postgresql://", "postgresql+psycopg://", 1)


@pytest.fixture()
def settings_env(
    temporal: TemporalTarget,  # noqa: F811
    kafka_server: KafkaServer,  # noqa: F811
    inference: ServerProcess,
    topics: Topics,
    store_dsn: str,
) -> dict[str, str]:
    """The environment of this test's worker and bridge (also for their subprocesses)."""
    return {
        "ORCHESTRATOR_TEMPORAL_ADDRESS": temporal.address,
        "ORCHESTRATOR_TEMPORAL_NAMESPACE": temporal.namespace,
        "ORCHESTRATOR_TASK_QUEUE": temporal.task_queue,
        "ORCHESTRATOR_STORE_DSN": store_dsn,
        "ORCHESTRATOR_INFERENCE_URL": inference.base_url,
        "ORCHESTRATOR_KAFKA_BOOTSTRAP_SERVERS": kafka_server.bootstrap_servers,
        "ORCHESTRATOR_KAFKA_GROUP_ID": f"bridge-{temporal.task_queue}",
        "ORCHESTRATOR_REVIEW_THRESHOLD": "0.5",
        "ORCHESTRATOR_DECLINE_THRESHOLD": "0.85",
        "ORCHESTRATOR_REVIEW_TIMEOUT_SECONDS": "3",
        # insufficient_funds waits 3 days before a retry: 3 days x 2e-6 = 0.52 s here.
        "ORCHESTRATOR_RETRY_DELAY_SCALE": "0.000002",
        "ORCHESTRATOR_LOG_LEVEL": "INFO",
        "ORCHESTRATOR_HEALTH_PORT": str(free_port()),
        **topics.env(),
    }


@pytest.fixture()
def settings(settings_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> OrchestratorSettings:
    for key, value in settings_env.items():
        monkeypatch.setenv(key, value)
    return load_settings()


@pytest.fixture()
async def client(settings: OrchestratorSettings) -> Client:
    return await Client.connect(
        settings.temporal_address, namespace=settings.temporal_namespace, data_converter=pydantic_data_converter
    )


@pytest.fixture()
async def worker(client: Client, settings: OrchestratorSettings) -> AsyncIterator[Client]:
    """A worker in this test's event loop, on this test's task queue; yields the client."""
    async with payment_activities(settings) as activities, build_worker(client, settings, activities):
        yield client
