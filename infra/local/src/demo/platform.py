"""The platform of one run: Kafka and Temporal (`local_stack`), Feast, and every service's pex.

Everything listens on free loopback ports and keeps its data and logs in the run folder, so a run
never collides with another stack on the machine and leaves nothing behind but files.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient  # type: ignore[import-untyped]  # no py.typed
from aiokafka.errors import KafkaError  # type: ignore[import-untyped]  # no py.typed
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client
from temporalio.service import RPCError

from contracts.topics import ALL_TOPICS
from demo.processes import ServiceProcess, ServiceStartError, http_ok, http_text, stop_all
from demo.watchdog import PID_DIR, STACK_DIR, spawn_watchdog
from local_stack import supervisor
from local_stack.config import Ports, StackConfig, default_cache_dir
from local_stack.kafka import KafkaService
from local_stack.kafka_admin import create_topics, metadata, parse_bootstrap
from local_stack.ports import PortUse, free_ports
from local_stack.service import Progress, Service
from local_stack.temporal import NAMESPACE, TemporalService

PEXES: dict[str, str] = {
    "gateway": "services.gateway/gateway.pex",
    "normalizer": "services.normalizer/normalizer.pex",
    "inference": "services.inference/inference.pex",
    "worker": "services.orchestrator/worker.pex",
    "bridge": "services.orchestrator/bridge.pex",
    "simulator": "libs.simulator/cli.pex",
    "feature-repo": "services.feast/feature-repo.pex",
    "feature-server": "services.feast/feature-server.pex",
    "push-consumer": "services.feast/push-consumer.pex",
    "pipelines": "services.dagster/pipelines.pex",
    "seed-history": "services.dagster/seed-history.pex",
}
"""Where `./pants package` puts each pex, relative to `dist/` (or the test sandbox's root)."""
PACKAGE_COMMAND = (
    "./pants package services/gateway:gateway services/normalizer:normalizer services/orchestrator:worker "
    "services/orchestrator:bridge services/inference:inference libs/simulator:cli services/feast:feature-repo "
    "services/feast:feature-server services/feast:push-consumer services/dagster:pipelines "
    "services/dagster:seed-history"
)
TASK_QUEUE = "orchestrator-payments"
BRIDGE_GROUP = "orchestrator-bridge"
PUSH_GROUP = "feature-repo-push"
OPENAPI_JSON = "OpenAPI JSON"
NORMALIZER_APP_ID = "normalizer"
SQUARE_NOTIFICATION_URL_VARIABLE = "GATEWAY_SQUARE_NOTIFICATION_URL"


class TemporalWithUi(TemporalService):
    """The dev server with its web UI on (local_stack starts it headless, for tests)."""

    def port_uses(self) -> list[PortUse]:
        return [*super().port_uses(), PortUse(self.config.ports.temporal_ui, "LOCAL_STACK_TEMPORAL_UI_PORT")]

    def command(self) -> list[str]:
        return [arg for arg in super().command() if arg != "--headless"]


def find_pexes(pex_dir: Path) -> dict[str, Path]:
    """Every pex the run needs; a missing one stops the run with the command that builds them."""
    found = {name: (pex_dir / relative).resolve() for name, relative in PEXES.items()}
    # A `packed` pex (inference) is a folder, the others are files.
    missing = [str(path) for path in found.values() if not path.exists()]
    if missing:
        raise FileNotFoundError(f"missing {', '.join(missing)}; build them first with:\n  {PACKAGE_COMMAND}")
    return found


def python311() -> str:
    """The interpreter the pexes were built for (they carry their own dependencies)."""
    return shutil.which("python3.11") or sys.executable


@dataclass
class Platform:
    """Addresses, processes and folders of one run."""

    run_dir: Path
    pexes: dict[str, Path]
    progress: Progress
    stack_config: StackConfig = field(init=False)
    ports: dict[str, int] = field(default_factory=dict)
    servers: list[Service] = field(default_factory=list)
    services: dict[str, ServiceProcess] = field(default_factory=dict)

    def __post_init__(self) -> None:
        names = ["kafka", "kafka_controller", "temporal", "temporal_http", "temporal_ui", "temporal_metrics"]
        names += ["gateway", "normalizer", "inference", "feast", "push", "dagster", "worker", "bridge"]
        self.ports = dict(zip(names, free_ports(len(names)), strict=True))
        stack_ports = Ports(**{name: self.ports[name] for name in names[:6]}, postgres=0)
        env = dict(os.environ)
        self.stack_config = StackConfig(
            state_dir=self.run_dir / STACK_DIR,
            cache_dir=Path(env.get("LOCAL_STACK_CACHE_DIR") or default_cache_dir(env)),
            ports=stack_ports,
            env=env,
        )

    # -- addresses ---------------------------------------------------------------------------
    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.ports['kafka']}"

    @property
    def temporal_address(self) -> str:
        return f"127.0.0.1:{self.ports['temporal']}"

    @property
    def temporal_ui(self) -> str:
        return f"http://127.0.0.1:{self.ports['temporal_ui']}"

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    @property
    def store_path(self) -> Path:
        return self.run_dir / "payments.db"

    @property
    def registry_path(self) -> Path:
        """The model registry inference watches and the pipelines promote into."""
        return self.run_dir / "model-registry"

    @property
    def logs(self) -> Path:
        return self.run_dir / "logs"

    # -- start and stop ----------------------------------------------------------------------
    def start_stack(self) -> None:
        """Kafka and Temporal (with its UI), then every contracts topic with its partition count."""
        for server in (
            KafkaService(self.stack_config, self.progress),
            TemporalWithUi(self.stack_config, self.progress),
        ):
            self.servers.append(server)
            supervisor.start(server)
        existing = {t.name for t in metadata(*parse_bootstrap(self.bootstrap)[0], None).topics}
        for topic in ALL_TOPICS:
            if topic.name not in existing:
                create_topics(self.bootstrap, [topic.name], partitions=topic.partitions)
        self.progress(f"created {len(ALL_TOPICS)} contracts topics")

    def start_services(self, gateway_env: dict[str, str], timeout: float) -> None:
        """Feast (server and push consumer) and inference, the orchestrator's worker and bridge,
        the normalizer, the gateway: downstream first, so nothing the gateway accepts waits on a
        service still starting. The addresses printed for them must answer (a checked OpenAPI spec)."""
        for service in self._service_specs(gateway_env):
            self.services[service.name] = service
            service.start(self.run_dir / PID_DIR)
            seconds = service.wait_ready(timeout)
            self.progress(f"{service.name} ready in {seconds:.1f} s (log {service.log_path})")
            for label, url in service.links.items():
                if label == OPENAPI_JSON and "openapi" not in json.loads(http_text(url)):
                    raise ServiceStartError(f"{service.name} serves no OpenAPI document at {url}")

    def stop(self) -> None:
        """Every service at once (each SIGTERMed, SIGKILLed after its timeout), then the servers
        they used (Kafka, Temporal); nothing keeps running. All at once: on Ctrl-C, `pants run`
        gives the demo 3 s before it kills it (the watchdog then finishes the job)."""
        stop_all([service.stop for service in self.services.values()])
        stop_all([partial(supervisor.halt, server) for server in self.servers])

    # -- the services ------------------------------------------------------------------------
    def pex(self, name: str) -> list[str]:
        return [python311(), str(self.pexes[name])]

    def env_for(self, **variables: str) -> dict[str, str]:
        # The pexes bring their own dependencies: nothing of the demo's import path leaks in.
        base = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PEX_PATH")}
        return {**base, **variables}

    def one_shot(self, name: str, command: list[str], env: dict[str, str]) -> None:
        """A command that must succeed before the services start; its output goes to a log."""
        log_path = self.logs / f"{name}.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(log_path, "ab") as log:
            # The command is one of the demo's own pexes.
            result = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, env=env, check=False)  # noqa: S603
        code = result.returncode
        if code != 0:
            tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-30:])
            raise RuntimeError(f"{name} exited with code {code}; last lines of {log_path}:\n{tail}")
        self.progress(f"{name} done (log {log_path})")

    def feast_env(self, **variables: str) -> dict[str, str]:
        return self.env_for(
            FEATURE_REPO_ROOT=str(self.run_dir / "feature_repo"),
            FEATURE_REPO_PORT=str(self.ports["feast"]),
            FEATURE_REPO_LOG_LEVEL="WARNING",
            FEAST_USAGE="False",
            **variables,
        )

    def _service_specs(self, gateway_env: dict[str, str]) -> list[ServiceProcess]:
        registry = self.registry_path
        registry.mkdir(parents=True, exist_ok=True)
        normalizer_data = self.run_dir / "normalizer"
        feast_env = self.feast_env()
        # Registered before the server starts. No pipeline has exported features yet (first
        # wave): the online store is empty, every entity is NOT_FOUND, and inference scores it
        # with the contracts' no-history values.
        self.one_shot("feast-apply", [*self.pex("feature-repo"), "apply"], feast_env)
        specs = [
            ServiceProcess(
                "feast",
                self.pex("feature-server"),
                feast_env,
                self.logs / "feast.log",
                _http(f"{self.url('feast')}/health"),
                links=_openapi(self.url("feast"), "/docs", "/openapi.json"),
            ),
            # features.velocity.v1 (the normalizer's streaming features) -> the online store the
            # feature server reads; ready once its consumer group assigned it the partitions.
            ServiceProcess(
                "push-consumer",
                self.pex("push-consumer"),
                self.feast_env(
                    FEATURE_REPO_KAFKA_BOOTSTRAP_SERVERS=self.bootstrap,
                    FEATURE_REPO_PUSH_PORT=str(self.ports["push"]),
                    FEATURE_REPO_PUSH_GROUP_ID=PUSH_GROUP,
                ),
                self.logs / "push-consumer.log",
                _http(f"{self.url('push')}/readyz"),
                links={"health": f"{self.url('push')}/healthz"},
            ),
            ServiceProcess(
                "inference",
                self.pex("inference"),
                self.env_for(
                    INFERENCE_PORT=str(self.ports["inference"]),
                    INFERENCE_REGISTRY_ROOT=str(registry),
                    INFERENCE_FEAST_URL=self.url("feast"),
                    INFERENCE_LOG_LEVEL="WARNING",
                ),
                self.logs / "inference.log",
                _http(f"{self.url('inference')}/readyz"),
                links=_openapi(self.url("inference"), "/schema", "/schema/openapi.json"),
            ),
        ]
        orchestrator_env = self.env_for(
            ORCHESTRATOR_TEMPORAL_ADDRESS=self.temporal_address,
            ORCHESTRATOR_TEMPORAL_NAMESPACE=NAMESPACE,
            ORCHESTRATOR_TASK_QUEUE=TASK_QUEUE,
            ORCHESTRATOR_STORE_DSN=f"sqlite:///{self.store_path}",
            ORCHESTRATOR_INFERENCE_URL=self.url("inference"),
            ORCHESTRATOR_KAFKA_BOOTSTRAP_SERVERS=self.bootstrap,
            ORCHESTRATOR_KAFKA_GROUP_ID=BRIDGE_GROUP,
            # A retry advised days ahead is due within seconds here (3 days x 1e-5 = 2.6 s).
            ORCHESTRATOR_RETRY_DELAY_SCALE="0.00001",
            # No reviewer here: a payment the model sends to review times out into a decline
            # ('review_timed_out') after 10 s instead of a day.
            ORCHESTRATOR_REVIEW_TIMEOUT_SECONDS="10",
            ORCHESTRATOR_LOG_LEVEL="INFO",
        )
        specs += [
            ServiceProcess(
                "worker",
                self.pex("worker"),
                # Each serves /healthz, /readyz and /metrics on a port of its own.
                {**orchestrator_env, "ORCHESTRATOR_HEALTH_PORT": str(self.ports["worker"])},
                self.logs / "worker.log",
                lambda: asyncio.run(_has_pollers(self.temporal_address, TASK_QUEUE)),
                links={"metrics": f"{self.url('worker')}/metrics"},
            ),
            ServiceProcess(
                "bridge",
                self.pex("bridge"),
                {**orchestrator_env, "ORCHESTRATOR_HEALTH_PORT": str(self.ports["bridge"])},
                self.logs / "bridge.log",
                lambda: asyncio.run(_group_stable(self.bootstrap, BRIDGE_GROUP)),
                links={"metrics": f"{self.url('bridge')}/metrics"},
            ),
            ServiceProcess(
                "normalizer",
                self.pex("normalizer"),
                self.env_for(
                    NORMALIZER_KAFKA_BOOTSTRAP_SERVERS=self.bootstrap,
                    NORMALIZER_APP_ID=NORMALIZER_APP_ID,
                    NORMALIZER_WEB_PORT=str(self.ports["normalizer"]),
                    NORMALIZER_DATA_DIR=str(normalizer_data),
                    # One worker: a short session keeps a restart's rebalance short.
                    NORMALIZER_SESSION_TIMEOUT_SECONDS="10",
                    NORMALIZER_HEARTBEAT_INTERVAL_SECONDS="1",
                    NORMALIZER_REBALANCE_TIMEOUT_SECONDS="10",
                ),
                self.logs / "normalizer.log",
                _http(f"{self.url('normalizer')}/readyz"),
                links={"metrics": f"{self.url('normalizer')}/metrics"},
            ),
            ServiceProcess(
                "gateway",
                self.pex("gateway"),
                self.env_for(
                    **gateway_env,
                    GATEWAY_PORT=str(self.ports["gateway"]),
                    GATEWAY_KAFKA_BOOTSTRAP_SERVERS=self.bootstrap,
                ),
                self.logs / "gateway.log",
                _http(f"{self.url('gateway')}/readyz"),
                links=_openapi(self.url("gateway"), "/schema", "/schema/openapi.json"),
            ),
        ]
        return specs


def _openapi(base: str, page: str, spec: str) -> dict[str, str]:
    """The OpenAPI page and the spec it renders. The pages (Litestar's ReDoc, FastAPI's Swagger
    UI) load their JavaScript from a CDN, so offline they stay blank; the JSON is served locally."""
    return {"OpenAPI": f"{base}{page}", OPENAPI_JSON: f"{base}{spec}"}


def _http(url: str) -> Callable[[], bool]:
    return lambda: http_ok(url)


async def _has_pollers(address: str, task_queue: str) -> bool:
    """The worker is ready once Temporal sees it polling the workflow task queue."""
    return bool(await poller_identities(address, task_queue))


async def poller_identities(address: str, task_queue: str) -> set[str]:
    """Identities (`pid@host`) of the workers Temporal saw polling the workflow task queue lately
    (a killed worker stays listed for a while: a restart waits for a new identity)."""
    try:
        client = await Client.connect(address, namespace=NAMESPACE)
        response = await client.workflow_service.describe_task_queue(
            DescribeTaskQueueRequest(
                namespace=NAMESPACE,
                task_queue=TaskQueue(name=task_queue),
                task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
            )
        )
    except (RPCError, RuntimeError):  # the server refused or cannot be reached yet: not ready
        return set()
    return {poller.identity for poller in response.pollers}


async def _group_stable(bootstrap: str, group: str) -> bool:
    """The bridge is ready once its consumer group is stable with a member holding partitions."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        await admin.start()
        responses = await admin.describe_consumer_groups([group])
    except (KafkaError, OSError):  # the broker cannot answer yet: not ready
        return False
    finally:
        await admin.close()
    groups = [g for response in responses for g in response.to_object()["groups"]]
    return any(g["state"] == "Stable" and g["members"] for g in groups)


def gateway_env(simulator_pex: Path, gateway_url: str) -> dict[str, str]:
    """The GATEWAY_* secrets matching the simulator's test secrets, as its CLI prints them.

    Square signs the notification URL, which the simulator derives from the gateway's base URL:
    `gateway-env` and `send` must get the same `--base-url`.
    """
    command = [python311(), str(simulator_pex), "gateway-env", "--test-secrets", "--base-url", gateway_url]
    result = subprocess.run(
        command,  # noqa: S603 - our own pex
        capture_output=True,
        text=True,
        check=True,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
    )
    env = dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)
    if SQUARE_NOTIFICATION_URL_VARIABLE not in env:
        raise RuntimeError(f"`simulator gateway-env` printed no {SQUARE_NOTIFICATION_URL_VARIABLE}: {result.stdout}")
    return env


@contextmanager
def running(platform: Platform) -> Iterator[Platform]:
    """The platform stopped on the way out, whatever happens (Ctrl-C included); if the demo is
    killed outright, its watchdog stops what the pid files name."""
    watchdog = spawn_watchdog(os.getpid(), platform.run_dir)
    try:
        yield platform
    finally:
        platform.stop()
        watchdog.terminate()
        watchdog.wait(10)
