"""The real gateway (its pex, as a process) in front of a real broker, for the simulator's traffic."""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from contracts.topics import QUARANTINE, WEBHOOK_TOPICS
from local_stack.kafka_admin import KafkaAdminError, create_topics
from simulator.secrets import TEST_SECRETS, WebhookSecrets, gateway_environment
from testing.kafka import KafkaServer, kafka_server  # noqa: F401  (re-exported fixture)
from testing.processes import ServerProcess, free_port, start_server

GATEWAY_PEX = Path("services.gateway/gateway.pex")
"""Where Pants puts the `runtime_package_dependencies` pex in the test sandbox."""


@dataclass(frozen=True)
class RunningGateway:
    server: ServerProcess
    secrets: WebhookSecrets
    bootstrap_servers: str

    @property
    def base_url(self) -> str:
        return self.server.base_url


@pytest.fixture(scope="module")
def gateway(
    kafka_server: KafkaServer,  # noqa: F811  (the fixture imported above)
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[RunningGateway]:
    for topic in (*WEBHOOK_TOPICS.values(), QUARANTINE):
        try:
            create_topics(kafka_server.bootstrap_servers, [topic.name], partitions=topic.partitions)
        except KafkaAdminError as error:  # a broker from KAFKA_BOOTSTRAP_SERVERS may have them
            if "error 36" not in str(error):  # TOPIC_ALREADY_EXISTS
                raise
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    # Configured as `simulator gateway-env --test-secrets --base-url ...` prints it.
    secrets = dataclasses.replace(TEST_SECRETS, square_notification_url=f"{base_url}/webhooks/square")
    folder = tmp_path_factory.mktemp("gateway")
    env = {
        **gateway_environment(secrets),
        "GATEWAY_PORT": str(port),
        "GATEWAY_KAFKA_BOOTSTRAP_SERVERS": kafka_server.bootstrap_servers,
        "GATEWAY_LOG_LEVEL": "WARNING",
        # The pex brings its own dependencies: nothing of this test's import path may leak in.
        "PYTHONPATH": "",
        "PEX_ROOT": str(folder / "pex_root"),
    }
    with start_server(
        [sys.executable, str(GATEWAY_PEX)],
        base_url=base_url,
        ready_path="/readyz",
        log_path=folder / "gateway.log",
        env=env,
    ) as server:
        yield RunningGateway(server, secrets, kafka_server.bootstrap_servers)
