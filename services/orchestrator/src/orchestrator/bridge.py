"""The Kafka -> Temporal bridge: a consumer group on `payments.normalized.v1` and `payments.dlq.v1`.

Each normalized event is signal-with-started into its payment's `PaymentWorkflow` (workflow id
from the payment id); each dead letter starts its own `DeadLetterTriageWorkflow` (id from the dlq
id). Offsets are committed only after Temporal accepted every message of the batch, so a crash
before the commit means redelivery, and redelivery is harmless: the workflow ignores an event id
it has seen, and a triage workflow that exists is not started again.

`python -m orchestrator.bridge` (the `:bridge` pex). `/healthz`, `/readyz` (the consumer holds
partitions and is not stuck retrying Temporal) and `/metrics` (messages by outcome, commits) are
served on `ORCHESTRATOR_HEALTH_PORT` (`orchestrator.health`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime

from aiokafka import (  # type: ignore[import-untyped]  # no py.typed
    AIOKafkaConsumer,
    AIOKafkaProducer,
    ConsumerRecord,
    TopicPartition,
)
from pydantic import ValidationError
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from contracts.schemas.dlq import DeadLetter, RejectReason, redact_excerpt
from contracts.schemas.normalized_event import NormalizedEvent, SourcePosition
from contracts.topics import DLQ, NORMALIZED
from orchestrator.health import HealthServer, Metrics
from orchestrator.messages import DeadLetterTriageInput, DecisionPolicy, PaymentWorkflowInput
from orchestrator.settings import OrchestratorSettings, decision_policy, settings_for_process
from orchestrator.temporal_client import connect
from orchestrator.workflows import DeadLetterTriageWorkflow, PaymentWorkflow

log = logging.getLogger("orchestrator.bridge")


def payment_workflow_id(payment_id: str) -> str:
    """Searchable in the Temporal UI by the payment id."""
    return f"payment-{payment_id}"


def dead_letter_workflow_id(dlq_id: uuid.UUID | str) -> str:
    return f"dead-letter-{dlq_id}"


async def signal_payment(client: Client, task_queue: str, policy: DecisionPolicy, event: NormalizedEvent) -> None:
    """Deliver `event` to its payment's workflow, starting the workflow if it never ran.

    A payment's workflow never ends by itself (it continues as new), so a closed one was
    terminated, cancelled or failed: REJECT_DUPLICATE keeps a fresh run with empty state from
    starting over it and deciding the payment again. That raises `WorkflowAlreadyStartedError`."""
    await client.start_workflow(
        PaymentWorkflow.run,
        PaymentWorkflowInput(payment_id=event.payment_id, policy=policy),
        id=payment_workflow_id(event.payment_id),
        task_queue=task_queue,
        start_signal="event",
        start_signal_args=[event],
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
    )


class BridgeMetrics:
    """`/metrics` of the bridge."""

    def __init__(self) -> None:
        self.registry = Metrics()
        self.messages = self.registry.counter(
            "orchestrator_bridge_messages_total",
            "Messages handed on, by input (normalized or dlq) and outcome.",
            ("input", "outcome"),
        )
        self.commits = self.registry.counter(
            "orchestrator_bridge_commits_total", "Offset commits, by result (ok or failed).", ("result",)
        )


class Bridge:
    def __init__(
        self,
        client: Client,
        settings: OrchestratorSettings,
        consumer: AIOKafkaConsumer,
        dlq_producer: AIOKafkaProducer,
        metrics: BridgeMetrics | None = None,
    ) -> None:
        self.client = client
        self.task_queue = settings.task_queue
        self.policy: DecisionPolicy = decision_policy(settings)
        self.normalized_topic = settings.normalized_topic or NORMALIZED.name
        self.dlq_topic = settings.dlq_topic or DLQ.name
        self.consumer = consumer
        self.dlq_producer = dlq_producer
        self.metrics = metrics or BridgeMetrics()
        self.state = "starting"
        """What the bridge does now: `consuming` when ready, else why not (read by /readyz)."""

    async def ready(self) -> tuple[bool, str]:
        if self.state != "consuming":
            return False, self.state
        assigned = self.consumer.assignment()
        if not assigned:
            return False, "no partitions assigned"
        return True, f"consuming {len(assigned)} partitions"

    async def start_triage(self, letter: DeadLetter) -> None:
        # Already triaged (and resolved): a redelivered dead letter changes nothing.
        with contextlib.suppress(WorkflowAlreadyStartedError):
            await self.client.start_workflow(
                DeadLetterTriageWorkflow.run,
                DeadLetterTriageInput(dead_letter=letter),
                id=dead_letter_workflow_id(letter.dlq_id),
                task_queue=self.task_queue,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            )

    async def _reject(self, record: ConsumerRecord[bytes, bytes], error: ValidationError) -> None:
        """A message that is not a contract event goes to the DLQ with its reasons, durably."""
        reasons = tuple(
            RejectReason(
                field=".".join(str(part) for part in item["loc"]) or "$",
                code=item["type"],
                message=item["msg"],
            )
            for item in error.errors(include_url=False, include_input=False)
        )
        await self._dead_letter(record, reasons or (RejectReason(field="$", code="invalid", message=str(error)),))

    async def _dead_letter(self, record: ConsumerRecord[bytes, bytes], reasons: tuple[RejectReason, ...]) -> None:
        letter = DeadLetter(
            dlq_id=uuid.uuid5(uuid.NAMESPACE_URL, f"{record.topic}/{record.partition}/{record.offset}"),
            stage="orchestrator",
            source=SourcePosition(topic=record.topic, partition=record.partition, offset=record.offset),
            key=record.key.decode(errors="replace") if record.key else None,
            reasons=reasons,
            payload_excerpt=redact_excerpt(record.value or b""),
            failed_at=datetime.now(UTC),
        )
        await self.dlq_producer.send_and_wait(self.dlq_topic, letter.model_dump_json().encode(), key=record.key)

    async def _handle(self, record: ConsumerRecord[bytes, bytes]) -> None:
        if record.topic == self.normalized_topic:
            try:
                event = NormalizedEvent.model_validate_json(record.value or b"")
            except ValidationError as error:
                await self._reject(record, error)
                self.metrics.messages.inc(input="normalized", outcome="dead_lettered")
                return
            try:
                await signal_payment(self.client, self.task_queue, self.policy, event)
                self.metrics.messages.inc(input="normalized", outcome="signalled")
            except WorkflowAlreadyStartedError:
                # The payment's workflow was closed (terminated, say): not started over; the event
                # waits on the DLQ for someone to look at the payment.
                reason = RejectReason(
                    field="payment_id",
                    code="payment_workflow_closed",
                    message=f"the workflow {payment_workflow_id(event.payment_id)} is closed",
                )
                await self._dead_letter(record, (reason,))
                self.metrics.messages.inc(input="normalized", outcome="dead_lettered")
        else:
            try:
                letter = DeadLetter.model_validate_json(record.value or b"")
            except ValidationError as error:
                # Not ours to fix and nowhere further to send it: logged with its position.
                log.error(
                    "unreadable dead letter at %s/%d/%d: %s", record.topic, record.partition, record.offset, error
                )
                self.metrics.messages.inc(input="dlq", outcome="unreadable")
                return
            await self.start_triage(letter)
            self.metrics.messages.inc(input="dlq", outcome="triaged")

    async def _handle_in_key_order(self, records: Sequence[ConsumerRecord[bytes, bytes]]) -> None:
        for record in records:
            await self._handle(record)

    async def process(self, batch: dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]) -> None:
        """Hand every message to Temporal, then commit. Messages of one key (one payment) go in
        order; different keys go concurrently."""
        by_key: dict[tuple[str, int, bytes | None], list[ConsumerRecord[bytes, bytes]]] = defaultdict(list)
        for partition, records in batch.items():
            for record in records:
                by_key[(partition.topic, partition.partition, record.key)].append(record)
        await asyncio.gather(*(self._handle_in_key_order(records) for records in by_key.values()))
        offsets = {partition: records[-1].offset + 1 for partition, records in batch.items() if records}
        if offsets:
            await self.consumer.commit(offsets)
            self.metrics.commits.inc(result="ok")

    async def run(self, stop: asyncio.Event) -> None:
        self.state = "consuming"
        while not stop.is_set():
            batch = await self.consumer.getmany(timeout_ms=200, max_records=500)
            if batch:
                await self.process(batch)


def make_consumer(settings: OrchestratorSettings) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(
        settings.normalized_topic or NORMALIZED.name,
        settings.dlq_topic or DLQ.name,
        bootstrap_servers=settings.kafka_bootstrap_servers,
        group_id=settings.kafka_group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
    )


class BridgeProbe:
    """Readiness before the bridge exists (connecting), then the bridge's own."""

    def __init__(self) -> None:
        self.bridge: Bridge | None = None

    async def ready(self) -> tuple[bool, str]:
        if self.bridge is None:
            return False, "connecting to Temporal and Kafka"
        return await self.bridge.ready()


async def run(settings: OrchestratorSettings, client: Client | None = None, stop: asyncio.Event | None = None) -> None:
    """Consume until SIGTERM/SIGINT (or `stop`); `client` lets tests hand in theirs."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    metrics = BridgeMetrics()
    probe = BridgeProbe()
    async with HealthServer(settings.health_host, settings.health_port, metrics.registry, probe.ready):
        client = client or await connect(settings)
        consumer = make_consumer(settings)
        producer = AIOKafkaProducer(
            bootstrap_servers=settings.kafka_bootstrap_servers, acks="all", enable_idempotence=True
        )
        await producer.start()
        await consumer.start()
        try:
            log.info("bridge consuming %s into %s", settings.normalized_topic or NORMALIZED.name, settings.task_queue)
            probe.bridge = Bridge(client, settings, consumer, producer, metrics)
            await probe.bridge.run(stop)
        finally:
            await consumer.stop()
            await producer.stop()


def main() -> None:
    asyncio.run(run(settings_for_process()))


if __name__ == "__main__":
    main()
