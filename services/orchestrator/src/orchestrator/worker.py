"""The Temporal worker: both workflows and every activity on the orchestrator's task queue.

`python -m orchestrator.worker` (the `:worker` pex). Settings are validated before anything
connects; a bad one stops the process with a message naming the variable.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiokafka import AIOKafkaProducer  # type: ignore[import-untyped]  # no py.typed
from temporalio.client import Client
from temporalio.worker import Worker

from contracts.topics import DECISIONS, RETRIES
from orchestrator.activities import InferenceClient, PaymentActivities, TopicNames
from orchestrator.settings import OrchestratorSettings, settings_for_process
from orchestrator.store import PaymentsStore
from orchestrator.temporal_client import connect
from orchestrator.workflows import DeadLetterTriageWorkflow, PaymentWorkflow

log = logging.getLogger("orchestrator.worker")


@asynccontextmanager
async def payment_activities(settings: OrchestratorSettings) -> AsyncIterator[PaymentActivities]:
    """Store (schema applied), inference client and an idempotent producer; closed on exit."""
    store = PaymentsStore.from_dsn(settings.store_dsn)
    await asyncio.to_thread(store.create_schema)
    inference = InferenceClient(settings.inference_url, settings.inference_timeout_seconds)
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap_servers, acks="all", enable_idempotence=True, linger_ms=0
    )
    await producer.start()
    try:
        yield PaymentActivities(
            store,
            inference,
            producer,
            TopicNames(
                decisions=settings.decisions_topic or DECISIONS.name,
                retries=settings.retries_topic or RETRIES.name,
            ),
        )
    finally:
        await producer.stop()
        await inference.aclose()
        store.close()


def build_worker(client: Client, settings: OrchestratorSettings, activities: PaymentActivities) -> Worker:
    return Worker(
        client,
        task_queue=settings.task_queue,
        workflows=[PaymentWorkflow, DeadLetterTriageWorkflow],
        activities=activities.all(),
        max_concurrent_activities=settings.max_concurrent_activities,
        max_concurrent_workflow_tasks=settings.max_concurrent_workflow_tasks,
    )


async def run(settings: OrchestratorSettings, client: Client | None = None) -> None:
    """Serve until SIGTERM/SIGINT; `client` lets tests hand in theirs."""
    client = client or await connect(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with payment_activities(settings) as activities:
        worker = build_worker(client, settings, activities)
        async with worker:
            log.info("worker polling %s on %s", settings.task_queue, settings.temporal_address)
            await stop.wait()


def main() -> None:
    asyncio.run(run(settings_for_process()))


if __name__ == "__main__":
    main()
