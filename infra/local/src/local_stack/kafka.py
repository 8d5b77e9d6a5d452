"""A single-node Apache Kafka in KRaft mode (broker and controller in one JVM).

Pinned to the 3.9 line: Kafka 4 dropped old protocol versions (KIP-896) and Faust, which sits
on aiokafka, is only known to work against 3.x. Settings are tuned for tests: a small heap, no
initial rebalance delay, and replication factors of 1 for the internal topics.
"""

from __future__ import annotations

import base64
import subprocess
import uuid
from pathlib import Path

from local_stack.config import StackConfig
from local_stack.errors import ServiceStartError
from local_stack.executables import find_java
from local_stack.kafka_admin import broker_ready
from local_stack.kafka_jars import ensure_jars
from local_stack.ports import PortUse
from local_stack.readiness import log_tail
from local_stack.service import Progress, Service, print_progress
from local_stack.state import check_stamp, write_stamp

KAFKA_VERSION = "3.9.2"
NODE_ID = 1

_LOG4J = """\
log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.request.logger=WARN
log4j.logger.state.change.logger=WARN
log4j.logger.org.apache.kafka.controller=WARN
log4j.logger.kafka.log.LogCleaner=WARN
"""


class KafkaService(Service):
    name = "kafka"
    stop_timeout = 60.0

    def __init__(self, config: StackConfig, progress: Progress = print_progress) -> None:
        super().__init__(config, progress)
        self._java: Path | None = None
        self._jars: Path | None = None

    @property
    def data_dir(self) -> Path:
        return self.directory / "data"

    @property
    def properties_path(self) -> Path:
        return self.directory / "server.properties"

    def address(self) -> str:
        return f"{self.config.host}:{self.config.ports.kafka}"

    def client_env(self) -> dict[str, str]:
        return {"KAFKA_BOOTSTRAP_SERVERS": self.address()}

    def port_uses(self) -> list[PortUse]:
        ports = self.config.ports
        return [
            PortUse(ports.kafka, "LOCAL_STACK_KAFKA_PORT"),
            PortUse(ports.kafka_controller, "LOCAL_STACK_KAFKA_CONTROLLER_PORT"),
        ]

    def prepare(self) -> None:
        stamp = f"kafka {KAFKA_VERSION}"
        check_stamp(self.name, self.directory, stamp, self.data_dir.exists())
        self._java = find_java(self.config.env)
        self._jars = ensure_jars(self.config.cache_dir, KAFKA_VERSION, dict(self.config.env), self.progress)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.properties_path.write_text(self.server_properties())
        (self.directory / "log4j.properties").write_text(_LOG4J)
        if not (self.data_dir / "meta.properties").is_file():
            self._format_storage()
        write_stamp(self.directory, stamp)

    def command(self) -> list[str]:
        return [*self._java_command(), "kafka.Kafka", str(self.properties_path)]

    def is_ready(self) -> bool:
        return broker_ready(self.config.host, self.config.ports.kafka)

    def server_properties(self) -> str:
        host, ports = self.config.host, self.config.ports
        settings = {
            "process.roles": "broker,controller",
            "node.id": str(NODE_ID),
            "controller.quorum.voters": f"{NODE_ID}@{host}:{ports.kafka_controller}",
            "listeners": f"PLAINTEXT://{host}:{ports.kafka},CONTROLLER://{host}:{ports.kafka_controller}",
            "advertised.listeners": f"PLAINTEXT://{host}:{ports.kafka}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "log.dirs": str(self.data_dir),
            "num.partitions": "1",
            "default.replication.factor": "1",
            "min.insync.replicas": "1",
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "1",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "transaction.state.log.num.partitions": "1",
            "group.initial.rebalance.delay.ms": "0",
            "auto.create.topics.enable": "true",
            "delete.topic.enable": "true",
            # Smaller segments and fewer threads: a laptop broker, not a production one.
            "log.segment.bytes": str(64 * 1024 * 1024),
            "num.network.threads": "2",
            "num.io.threads": "4",
        }
        return "".join(f"{key}={value}\n" for key, value in settings.items())

    def _java_command(self) -> list[str]:
        if self._java is None or self._jars is None:
            raise RuntimeError("KafkaService.prepare() must run before the broker starts")
        return [
            str(self._java),
            f"-Xmx{self.config.kafka_heap}",
            "-Xms128m",
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            "-Djava.awt.headless=true",
            f"-Dlog4j.configuration=file:{self.directory / 'log4j.properties'}",
            f"-Dkafka.logs.dir={self.directory}",
            "-cp",
            str(self._jars / "*"),
        ]

    def _format_storage(self) -> None:
        """Format the KRaft metadata log once; the cluster id is kept for later restarts."""
        cluster_id = _cluster_id()
        command = [
            *self._java_command(),
            "kafka.tools.StorageTool",
            "format",
            "--cluster-id",
            cluster_id,
            "--config",
            str(self.properties_path),
            "--ignore-formatted",
        ]
        self.progress(f"formatting Kafka storage in {self.data_dir}")
        with open(self.log_path, "ab") as log:
            result = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, check=False)  # noqa: S603
        if result.returncode != 0:
            raise ServiceStartError(
                f"kafka: formatting storage failed (exit {result.returncode}). "
                f"Last lines of {self.log_path}:\n{log_tail(self.log_path)}"
            )


def _cluster_id() -> str:
    """A random KRaft cluster id (base64url of a UUID) that does not start with `-`: the storage
    tool's argument parser would read such an id as an option (1 start in 64 failed with
    "argument --cluster-id/-t: expected one argument")."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id
