"""The three servers as one stack: what the CLI and the test fixtures drive."""

from __future__ import annotations

import time
from collections.abc import Iterable

from local_stack import supervisor
from local_stack.config import StackConfig
from local_stack.errors import ConfigError
from local_stack.kafka import KafkaService
from local_stack.ports import is_free
from local_stack.postgres import PostgresService
from local_stack.service import Progress, Service, print_progress
from local_stack.supervisor import ServiceStatus
from local_stack.temporal import TemporalService

SERVICE_NAMES: tuple[str, ...] = ("kafka", "temporal", "postgres")
PORT_RELEASE_SECONDS = 10.0
_CLASSES: dict[str, type[Service]] = {
    "kafka": KafkaService,
    "temporal": TemporalService,
    "postgres": PostgresService,
}


class LocalStack:
    """Kafka, Temporal and PostgreSQL sharing one state dir and one configuration."""

    def __init__(self, config: StackConfig | None = None, progress: Progress = print_progress):
        self.config = config if config is not None else StackConfig.from_env()
        self._services = {name: cls(self.config, progress) for name, cls in _CLASSES.items()}

    def service(self, name: str) -> Service:
        try:
            return self._services[name]
        except KeyError:
            raise ConfigError(f"unknown service {name!r}; choose from {', '.join(SERVICE_NAMES)}") from None

    def up(self, names: Iterable[str] = SERVICE_NAMES) -> list[ServiceStatus]:
        """Start each named server (in order) and wait until each is ready."""
        return [supervisor.start(self.service(name)) for name in _checked(names)]

    def down(self, names: Iterable[str] = SERVICE_NAMES) -> list[str]:
        """Stop the named servers; returns those that were running."""
        return [name for name in _checked(names) if supervisor.halt(self.service(name))]

    def restart(self, name: str) -> ServiceStatus:
        """Stop the server and start it again on the same ports (its clients reconnect there).
        Waits up to `PORT_RELEASE_SECONDS` for the stopped server's ports to be released first: a
        restart in CI once found its metrics port still taken right after the stop."""
        service = self.service(name)
        supervisor.halt(service)
        deadline = time.monotonic() + PORT_RELEASE_SECONDS
        while not all(is_free(service.config.host, use.port) for use in service.port_uses()):
            if time.monotonic() > deadline:
                break  # `start` reports the port still in use, by number and setting
            time.sleep(0.1)  # polling the ports, not waiting for a guess
        return supervisor.start(service)

    def status(self, names: Iterable[str] = SERVICE_NAMES) -> list[ServiceStatus]:
        return [supervisor.status(self.service(name)) for name in _checked(names)]

    def client_env(self, names: Iterable[str] = SERVICE_NAMES) -> dict[str, str]:
        """`KAFKA_BOOTSTRAP_SERVERS`, `TEMPORAL_ADDRESS`, `POSTGRES_DSN` for the named servers."""
        env: dict[str, str] = {}
        for name in _checked(names):
            env.update(self.service(name).client_env())
        return env


def _checked(names: Iterable[str]) -> list[str]:
    chosen = list(dict.fromkeys(names))
    unknown = [name for name in chosen if name not in _CLASSES]
    if unknown:
        raise ConfigError(f"unknown service(s) {', '.join(unknown)}; choose from {', '.join(SERVICE_NAMES)}")
    return chosen
