"""The Temporal worker: both workflows and every activity on the orchestrator's task queue.

`python -m orchestrator.worker` (the `:worker` pex). Settings are validated before anything
connects; a bad one stops the process with a message naming the variable. Kafka unreachable at
start does not stop it (`orchestrator.publisher`): it polls and decides, and is not ready until
its producer connects. `/healthz`, `/readyz`
(Temporal answers and the worker polls) and `/metrics` (activity outcomes) are served on
`ORCHESTRATOR_HEALTH_PORT` (`orchestrator.health`).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from temporalio import activity
from temporalio.client import Client
from temporalio.service import RPCError
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
    PollerBehaviorSimpleMaximum,
    Worker,
)

from contracts.topics import DECISIONS, RETRIES
from orchestrator.activities import InferenceClient, PaymentActivities, TopicNames
from orchestrator.health import HealthServer, Metrics
from orchestrator.publisher import KafkaPublisher
from orchestrator.settings import OrchestratorSettings, settings_for_process
from orchestrator.store import PaymentsStore
from orchestrator.temporal_client import connect
from orchestrator.workflows import DeadLetterTriageWorkflow, PaymentWorkflow

log = logging.getLogger("orchestrator.worker")
GRACEFUL_SHUTDOWN = timedelta(seconds=5)
"""How long a stopping worker lets its running activities finish before cancelling them."""


@asynccontextmanager
async def payment_activities(settings: OrchestratorSettings) -> AsyncIterator[PaymentActivities]:
    """Store (schema applied), inference client and an idempotent producer (`KafkaPublisher`,
    connecting in the background); closed on exit."""
    store = PaymentsStore.from_dsn(settings.store_dsn)
    await asyncio.to_thread(store.create_schema)
    inference = InferenceClient(settings.inference_url, settings.inference_timeout_seconds)
    try:
        # Connects in the background: an unreachable broker does not stop the worker.
        async with KafkaPublisher(settings.kafka_bootstrap_servers) as publisher:
            yield PaymentActivities(
                store,
                inference,
                publisher,
                TopicNames(
                    decisions=settings.decisions_topic or DECISIONS.name,
                    retries=settings.retries_topic or RETRIES.name,
                ),
            )
    finally:
        await inference.aclose()
        store.close()


class WorkerMetrics:
    """`/metrics` of the worker: every activity attempt by type and outcome, and its duration."""

    def __init__(self) -> None:
        self.registry = Metrics()
        self.activities = self.registry.counter(
            "orchestrator_activity_attempts_total",
            "Activity attempts this worker ran, by activity type and outcome (completed or failed).",
            ("activity", "outcome"),
        )
        self.activity_seconds = self.registry.counter(
            "orchestrator_activity_seconds_total",
            "Time spent in activity attempts, by activity type.",
            ("activity",),
        )


class _CountingActivities(ActivityInboundInterceptor):
    def __init__(self, next: ActivityInboundInterceptor, metrics: WorkerMetrics) -> None:
        super().__init__(next)
        self._metrics = metrics

    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        name = activity.info().activity_type
        started = time.perf_counter()
        outcome = "failed"
        try:
            result = await self.next.execute_activity(input)
            outcome = "completed"
            return result
        finally:  # counted, never caught: the failure goes on to Temporal as it was
            self._metrics.activities.inc(activity=name, outcome=outcome)
            self._metrics.activity_seconds.inc(time.perf_counter() - started, activity=name)


class MetricsInterceptor(Interceptor):
    def __init__(self, metrics: WorkerMetrics) -> None:
        self.metrics = metrics

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _CountingActivities(next, self.metrics)


def worker_tuning(settings: OrchestratorSettings) -> dict[str, Any]:
    """The `Worker` arguments the settings tune: slots, pollers, cache (the bench's floor worker
    takes the same)."""
    return {
        "max_concurrent_activities": settings.max_concurrent_activities,
        "max_concurrent_workflow_tasks": settings.max_concurrent_workflow_tasks,
        "max_concurrent_local_activities": settings.max_concurrent_local_activities,
        "max_cached_workflows": settings.max_cached_workflows,
        "workflow_task_poller_behavior": PollerBehaviorSimpleMaximum(maximum=settings.workflow_task_pollers),
        "activity_task_poller_behavior": PollerBehaviorSimpleMaximum(maximum=settings.activity_task_pollers),
    }


def build_worker(
    client: Client,
    settings: OrchestratorSettings,
    activities: PaymentActivities,
    metrics: WorkerMetrics | None = None,
) -> Worker:
    return Worker(
        client,
        task_queue=settings.task_queue,
        workflows=[PaymentWorkflow, DeadLetterTriageWorkflow],
        activities=activities.all(),
        **worker_tuning(settings),
        # A stop lets running activities finish (local ones included: their results are recorded
        # with the workflow task) instead of cancelling them at once.
        graceful_shutdown_timeout=GRACEFUL_SHUTDOWN,
        interceptors=[MetricsInterceptor(metrics)] if metrics is not None else [],
    )


class WorkerProbe:
    """Readiness of the worker: connected (Temporal's health check answers SERVING), polling, and
    its Kafka producer connected (decisions can be published)."""

    def __init__(self) -> None:
        self.client: Client | None = None
        self.worker: Worker | None = None
        self.publisher: KafkaPublisher | None = None

    async def ready(self) -> tuple[bool, str]:
        if self.client is None:
            return False, "connecting to Temporal"
        if self.worker is None or not self.worker.is_running:
            return False, "worker not polling"
        if self.publisher is not None:
            connected, why = self.publisher.ready()
            if not connected:
                return False, why
        try:
            serving = await self.client.service_client.check_health(timeout=timedelta(seconds=2))
        except RPCError as error:
            return False, f"Temporal unreachable: {error.status.name}: {error.message}"
        if not serving:
            return False, "Temporal's workflow service is not serving"
        return True, f"polling {self.worker.task_queue}"


async def run(settings: OrchestratorSettings, client: Client | None = None, stop: asyncio.Event | None = None) -> None:
    """Serve until SIGTERM/SIGINT (or `stop`); `client` lets tests hand in theirs."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    metrics = WorkerMetrics()
    probe = WorkerProbe()
    async with HealthServer(settings.health_host, settings.health_port, metrics.registry, probe.ready):
        probe.client = client or await connect(settings, stop)
        if probe.client is None:  # stopped before Temporal could be reached
            return
        async with payment_activities(settings) as activities:
            probe.publisher = activities.producer
            probe.worker = build_worker(probe.client, settings, activities, metrics)
            async with probe.worker:
                log.info("worker polling %s on %s", settings.task_queue, settings.temporal_address)
                await stop.wait()


def main() -> None:
    asyncio.run(run(settings_for_process()))


if __name__ == "__main__":
    main()
