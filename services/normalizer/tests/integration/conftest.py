"""The real broker (from libs/testing) and normalizer workers as real processes on it."""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import pytest

from normalizer.topics import ensure_topics
from testing.kafka import KafkaServer, kafka_server  # noqa: F401  (re-exported fixture)
from testing.processes import ServerProcess, free_port, start_server

# Fast group joins for tests: a killed worker's partitions come back within seconds.
FAST_GROUP = {
    "NORMALIZER_SESSION_TIMEOUT_SECONDS": "6",
    "NORMALIZER_HEARTBEAT_INTERVAL_SECONDS": "0.5",
    "NORMALIZER_REBALANCE_TIMEOUT_SECONDS": "6",
    "NORMALIZER_COMMIT_INTERVAL_SECONDS": "0.2",
    "NORMALIZER_STALL_SECONDS": "3",
}


@pytest.fixture(scope="session")
def broker(kafka_server: KafkaServer) -> KafkaServer:  # noqa: F811
    """The broker with the normalizer's topics, created as the worker creates them, before any
    test produces (a producer would have the broker create them with one partition)."""
    asyncio.run(ensure_topics(kafka_server.bootstrap_servers, replication_factor=1))
    return kafka_server


class StartWorker(Protocol):
    def __call__(self, **env: str) -> ServerProcess: ...


@pytest.fixture()
def group() -> str:
    """A consumer group (and dedupe changelog) of this test's own."""
    return f"normalizer-test-{uuid.uuid4().hex[:12]}"


@pytest.fixture()
def start_worker(broker: KafkaServer, group: str, tmp_path: Path) -> Iterator[StartWorker]:
    """Start a worker of this test's group; returns once `/readyz` answers 200."""
    started: list[ServerProcess] = []

    def start(**env: str) -> ServerProcess:
        port = free_port()
        worker = start_server(
            [sys.executable, "-m", "normalizer"],
            base_url=f"http://127.0.0.1:{port}",
            ready_path="/readyz",
            log_path=tmp_path / f"worker-{len(started)}.log",
            env={
                "NORMALIZER_KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap_servers,
                "NORMALIZER_APP_ID": group,
                "NORMALIZER_WEB_PORT": str(port),
                "NORMALIZER_DATA_DIR": str(tmp_path / f"data-{len(started)}"),
                **FAST_GROUP,
                **env,
            },
            timeout_seconds=180,
        )
        started.append(worker)
        return worker

    yield start
    for n, worker in enumerate(started):
        worker.stop()
        # Captured teardown output is shown for failing tests only: the worker's side of a failure.
        print(f"--- worker-{n} log (tail) ---\n{worker.log_tail(20_000)}")
