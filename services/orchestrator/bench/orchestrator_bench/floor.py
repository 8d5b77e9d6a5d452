"""Temporal's floor on this host: a workflow registered as `PaymentWorkflow` (so the same bridge
drives it) that runs as many activities as an approved payment does, empty, of the same kind
(local activities when `ORCHESTRATOR_LOCAL_ACTIVITIES` is on, as in the real workflow), and
publishes a decision the same way; the worker has the same tuning (`worker_tuning`). `python -m orchestrator_bench.floor` with the worker's ORCHESTRATOR_* env.
"""

from __future__ import annotations

import asyncio
import signal

from aiokafka import AIOKafkaProducer  # type: ignore[import-untyped]  # no py.typed
from temporalio import activity, workflow
from temporalio.worker import Worker

with workflow.unsafe.imports_passed_through():
    from contracts.schemas.decision import Decision, PaymentDecision
    from contracts.schemas.normalized_event import NormalizedEvent
    from contracts.topics import DECISIONS
    from orchestrator.messages import PaymentWorkflowInput, PublishDecisionInput, RecordEventInput
    from orchestrator.settings import load_settings
    from orchestrator.temporal_client import connect
    from orchestrator.worker import worker_tuning
    from orchestrator.workflows import IO_RETRY, IO_TIMEOUT

EMPTY_ACTIVITIES = 4
"""record_event, score_fraud, score_churn, store_decision; the fifth, publish, publishes."""


@activity.defn(name="noop")
async def noop(input: RecordEventInput) -> None:
    return None


class FloorPublisher:
    def __init__(self, producer: AIOKafkaProducer, topic: str) -> None:
        self.producer = producer
        self.topic = topic

    @activity.defn(name="publish_decision")
    async def publish_decision(self, input: PublishDecisionInput) -> None:
        decision = input.decision
        await self.producer.send_and_wait(
            self.topic, decision.model_dump_json().encode(), key=decision.payment_id.encode()
        )


@workflow.defn(name="PaymentWorkflow")
class FloorPaymentWorkflow:
    def __init__(self) -> None:
        self._events: list[NormalizedEvent] = []

    @workflow.signal
    def event(self, event: NormalizedEvent) -> None:
        self._events.append(event)

    @workflow.run
    async def run(self, input: PaymentWorkflowInput) -> None:
        await workflow.wait_condition(lambda: bool(self._events))
        event = self._events[0]
        # Local activities when the real workflow has them (the same policy, from the same bridge).
        local = bool(input.policy.local_activities)
        for _ in range(EMPTY_ACTIVITIES):
            if local:
                await workflow.execute_local_activity(
                    noop,
                    RecordEventInput(event=event),
                    start_to_close_timeout=IO_TIMEOUT,
                    retry_policy=IO_RETRY,
                )
            else:
                await workflow.execute_activity(
                    noop, RecordEventInput(event=event), start_to_close_timeout=IO_TIMEOUT, retry_policy=IO_RETRY
                )
        decision = PaymentDecision(
            event_id=event.event_id,
            payment_id=event.payment_id,
            provider=event.provider,
            amount_minor=event.amount_minor,
            currency=event.currency,
            decision=Decision.APPROVE,
            fraud_score=0.0,
            fraud_model_version="floor",
            decided_at=workflow.now(),
        )
        if local:
            await workflow.execute_local_activity(
                "publish_decision",
                PublishDecisionInput(decision=decision),
                start_to_close_timeout=IO_TIMEOUT,
                retry_policy=IO_RETRY,
            )
        else:
            await workflow.execute_activity(
                "publish_decision",
                PublishDecisionInput(decision=decision),
                start_to_close_timeout=IO_TIMEOUT,
                retry_policy=IO_RETRY,
            )


async def serve() -> None:
    settings = load_settings()
    client = await connect(settings)  # retries until Temporal answers: None only with a stop event
    if client is None:
        raise RuntimeError("not connected to Temporal")
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers, acks="all", enable_idempotence=True)
    await producer.start()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    publisher = FloorPublisher(producer, settings.decisions_topic or DECISIONS.name)
    try:
        async with Worker(
            client,
            task_queue=settings.task_queue,
            workflows=[FloorPaymentWorkflow],
            activities=[noop, publisher.publish_decision],
            **worker_tuning(settings),
        ):
            await stop.wait()
    finally:
        await producer.stop()


if __name__ == "__main__":
    asyncio.run(serve())
