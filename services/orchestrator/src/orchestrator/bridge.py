"""The Kafka -> Temporal bridge: a consumer group on `payments.normalized.v1` and `payments.dlq.v1`.

Each normalized event is signal-with-started into its payment's `PaymentWorkflow` (workflow id
from the payment id); each dead letter starts its own `DeadLetterTriageWorkflow` (id from the dlq
id). Offsets are committed only after Temporal accepted every message of the batch, so a crash
before the commit means redelivery, and redelivery is harmless: the workflow ignores an event id
it has seen, and a triage workflow that exists is not started again. By default every batch is
committed as soon as it is accepted; `ORCHESTRATOR_BRIDGE_COMMIT_INTERVAL_SECONDS` lets accepted
offsets wait up to that long and go in one commit (fewer commits under load, more redelivery after
a crash). Accepted offsets are also committed when partitions are revoked and at a clean stop.

`python -m orchestrator.bridge` (the `:bridge` pex). `/healthz`, `/readyz` (the consumer holds
partitions and is not stuck retrying Temporal) and `/metrics` (messages by outcome, commits) are
served on `ORCHESTRATOR_HEALTH_PORT` (`orchestrator.health`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from aiokafka import (  # type: ignore[import-untyped]  # no py.typed
    AIOKafkaConsumer,
    AIOKafkaProducer,
    ConsumerRebalanceListener,
    ConsumerRecord,
    TopicPartition,
)
from aiokafka.errors import (  # type: ignore[import-untyped]  # no py.typed
    CommitFailedError,
    IllegalStateError,
    KafkaError,
)
from pydantic import ValidationError
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

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
            "orchestrator_bridge_commits_total",
            "Offset commits, by result (ok, or failed: the group rebalanced and the batch is fetched again).",
            ("result",),
        )
        self.temporal_retries = self.registry.counter(
            "orchestrator_bridge_temporal_retries_total",
            "Temporal calls that failed transiently and were retried, by input.",
            ("input",),
        )


RETRY_INITIAL_SECONDS = 0.2
RETRY_MAX_SECONDS = 30.0
PERMANENT_REFUSALS = frozenset({RPCStatusCode.INVALID_ARGUMENT, RPCStatusCode.OUT_OF_RANGE})
"""Temporal refusals that no retry can change (the request itself is wrong, such as a workflow id
longer than the server allows). Every other RPC error (unavailable, deadline, resource
exhausted, internal, even permission or namespace errors, which are configuration and hit every
message alike) is retried: dead-lettering the whole stream over an outage would be worse."""


class StopRequestedError(Exception):
    """The bridge was asked to stop while a message waited for Temporal: the batch is not
    committed, and the next owner of its partitions gets it again."""


class Bridge:
    def __init__(
        self,
        client: Client,
        settings: OrchestratorSettings,
        consumer: AIOKafkaConsumer,
        dlq_producer: AIOKafkaProducer,
        metrics: BridgeMetrics | None = None,
        stop: asyncio.Event | None = None,
    ) -> None:
        self.client = client
        self.task_queue = settings.task_queue
        self.policy: DecisionPolicy = decision_policy(settings)
        self.normalized_topic = settings.normalized_topic or NORMALIZED.name
        self.dlq_topic = settings.dlq_topic or DLQ.name
        self.consumer = consumer
        self.commit_interval = settings.bridge_commit_interval_seconds
        self.max_batch = settings.bridge_max_batch
        self.dlq_producer = dlq_producer
        self.metrics = metrics or BridgeMetrics()
        self.stop = stop or asyncio.Event()
        self.state = "starting"
        """What the bridge does now: `consuming` when ready, else why not (read by /readyz)."""
        self._waiting: dict[int, str] = {}
        """Messages (by offset) retrying Temporal now, with the last error: not ready meanwhile."""
        self._accepted: dict[TopicPartition, int] = {}
        """Offsets (next to read) up to which Temporal accepted every message, not committed yet."""
        self._last_commit = time.monotonic()
        self._in_flight = asyncio.Semaphore(settings.bridge_concurrency)
        """Bounds the messages handed to Temporal at once (`ORCHESTRATOR_BRIDGE_CONCURRENCY`)."""

    async def ready(self) -> tuple[bool, str]:
        if self.state != "consuming":
            return False, self.state
        if self._waiting:
            return False, f"retrying Temporal for {len(self._waiting)} messages: {next(iter(self._waiting.values()))}"
        assigned = self.consumer.assignment()
        if not assigned:
            return False, "no partitions assigned"
        return True, f"consuming {len(assigned)} partitions"

    async def _until_accepted(self, record: ConsumerRecord[bytes, bytes], call: Callable[[], Awaitable[Any]]) -> None:
        """Run `call` until Temporal accepts it. A transient failure is retried with backoff
        (0.2 s doubling to 30 s, no limit: the offset waits); a permanent refusal is raised."""
        delay = RETRY_INITIAL_SECONDS
        key = id(record)
        try:
            while True:
                try:
                    await call()
                    return
                except RPCError as error:
                    if error.status in PERMANENT_REFUSALS:
                        raise
                    reason = f"{error.status.name}: {error.message}"
                self._waiting[key] = reason
                self.metrics.temporal_retries.inc(input=self._input(record))
                log.warning(
                    "Temporal did not accept %s/%d/%d (%s); retrying in %.1f s",
                    record.topic,
                    record.partition,
                    record.offset,
                    reason,
                    delay,
                )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.stop.wait(), delay)
                if self.stop.is_set():
                    raise StopRequestedError(f"{record.topic}/{record.partition}/{record.offset} not accepted yet")
                delay = min(delay * 2, RETRY_MAX_SECONDS)
        finally:
            self._waiting.pop(key, None)

    def _input(self, record: ConsumerRecord[bytes, bytes]) -> str:
        return "normalized" if record.topic == self.normalized_topic else "dlq"

    async def _start_triage(self, record: ConsumerRecord[bytes, bytes], letter: DeadLetter) -> None:
        # Already triaged (and resolved): a redelivered dead letter changes nothing.
        async def start() -> None:
            with contextlib.suppress(WorkflowAlreadyStartedError):
                await self.client.start_workflow(
                    DeadLetterTriageWorkflow.run,
                    DeadLetterTriageInput(dead_letter=letter),
                    id=dead_letter_workflow_id(letter.dlq_id),
                    task_queue=self.task_queue,
                    id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                    id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                )

        await self._until_accepted(record, start)

    async def _reject(self, record: ConsumerRecord[bytes, bytes], error: ValidationError) -> None:
        """A message that is not a contract event goes to the DLQ with its reasons, durably."""
        await self._dead_letter(record, _reasons(error))

    async def _dead_letter(self, record: ConsumerRecord[bytes, bytes], reasons: tuple[RejectReason, ...]) -> None:
        letter = _letter_for(record, reasons)
        await self.dlq_producer.send_and_wait(self.dlq_topic, letter.model_dump_json().encode(), key=record.key)

    async def _handle_event(self, record: ConsumerRecord[bytes, bytes]) -> str:
        try:
            event = NormalizedEvent.model_validate_json(record.value or b"")
        except ValidationError as error:
            await self._reject(record, error)
            return "dead_lettered"
        try:
            await self._until_accepted(record, lambda: signal_payment(self.client, self.task_queue, self.policy, event))
        except WorkflowAlreadyStartedError:
            # The payment's workflow was closed (terminated, say): not started over; the event
            # waits on the DLQ for someone to look at the payment.
            reason = RejectReason(
                field="payment_id",
                code="payment_workflow_closed",
                message=f"the workflow {payment_workflow_id(event.payment_id)} is closed",
            )
            await self._dead_letter(record, (reason,))
            return "dead_lettered"
        except RPCError as error:  # a permanent refusal (PERMANENT_REFUSALS): no retry changes it
            await self._dead_letter(record, (_refusal(error),))
            return "refused"
        return "signalled"

    async def _handle_dead_letter(self, record: ConsumerRecord[bytes, bytes]) -> str:
        """Every dead letter gets a triage workflow, the unreadable ones too.

        An unreadable one cannot go back to the DLQ (this bridge would read it again, forever)
        and must not be dropped: it is triaged as a dead letter of its own, stage `orchestrator`,
        reason `unreadable_dead_letter`, whose `source` is its own position on the DLQ topic (the
        raw bytes stay there, within retention) and whose excerpt is its redacted beginning."""
        outcome = "triaged"
        try:
            letter = DeadLetter.model_validate_json(record.value or b"")
        except ValidationError as error:
            letter = _letter_for(record, _reasons(error, code="unreadable_dead_letter"))
            outcome = "unreadable"
        try:
            await self._start_triage(record, letter)
        except RPCError as error:
            # Temporal refuses this letter for good (too large, say): triage its position instead,
            # which is small and well-formed. A refusal of that too is a bug, and raised.
            await self._start_triage(record, _letter_for(record, (_refusal(error),)))
            outcome = "refused"
        return outcome

    async def _handle(self, record: ConsumerRecord[bytes, bytes]) -> None:
        if record.topic == self.normalized_topic:
            outcome = await self._handle_event(record)
        else:
            outcome = await self._handle_dead_letter(record)
        self.metrics.messages.inc(input=self._input(record), outcome=outcome)

    async def _handle_in_key_order(self, records: Sequence[ConsumerRecord[bytes, bytes]]) -> None:
        for record in records:
            async with self._in_flight:
                await self._handle(record)

    async def process(self, batch: dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]) -> None:
        """Hand every message to Temporal, then commit. Messages of one key (one payment) go in
        order; different keys go concurrently, at most `bridge_concurrency` at once. Raises `StopRequestedError` (nothing committed) on stop.
        """
        by_key: dict[tuple[str, int, bytes | None], list[ConsumerRecord[bytes, bytes]]] = defaultdict(list)
        for partition, records in batch.items():
            for record in records:
                by_key[(partition.topic, partition.partition, record.key)].append(record)
        try:
            async with asyncio.TaskGroup() as group:
                for records in by_key.values():
                    group.create_task(self._handle_in_key_order(records))
        except BaseExceptionGroup as errors:
            stopping = errors.subgroup(StopRequestedError)
            if stopping is not None and stopping.exceptions == errors.exceptions:
                raise stopping.exceptions[0] from None
            raise
        for partition, records in batch.items():
            if records:
                self._accepted[partition] = max(self._accepted.get(partition, 0), records[-1].offset + 1)
        await self._commit_if_due()

    async def _commit_if_due(self) -> None:
        """Commit the accepted offsets once `commit_interval` has passed since the last commit
        (at once with the default 0)."""
        if self._accepted and time.monotonic() - self._last_commit >= self.commit_interval:
            await self.commit_accepted()

    async def commit_accepted(self, partitions: set[TopicPartition] | None = None) -> None:
        """Commit what Temporal accepted (of `partitions`, default all): on time, when partitions
        are revoked, at a clean stop."""
        offsets = {p: o for p, o in self._accepted.items() if partitions is None or p in partitions}
        for partition in offsets:
            del self._accepted[partition]
        if partitions is None:
            self._last_commit = time.monotonic()
            # Offsets of partitions a rebalance took away meanwhile are not ours to commit (the
            # new owner starts from the committed offset: a harmless redelivery); sent along,
            # they would fail the commit of every partition still held.
            assigned = self.consumer.assignment()
            offsets = {p: o for p, o in offsets.items() if p in assigned}
        if offsets:
            await self._commit(offsets)

    async def _commit(self, offsets: dict[TopicPartition, int]) -> None:
        """Commit after Temporal accepted the batch. A rebalance meanwhile (`CommitFailedError`,
        or a partition no longer ours: `IllegalStateError`) does not stop the bridge: the
        partitions it still holds are re-fetched from their committed offsets, the others from
        theirs by their new owner; the batch is delivered again, which the workflows ignore
        (seen event ids, triage workflow ids)."""
        try:
            await self.consumer.commit(offsets)
        except (CommitFailedError, IllegalStateError) as error:
            self.metrics.commits.inc(result="failed")
            log.warning("offsets not committed (%s): re-fetching from the committed offsets", error)
            await self._rewind(offsets)
            return
        self.metrics.commits.inc(result="ok")

    async def _rewind(self, offsets: dict[TopicPartition, int]) -> None:
        assigned = self.consumer.assignment()
        for partition in offsets:
            if partition not in assigned:
                continue  # its new owner starts from the committed offset
            try:
                committed = await self.consumer.committed(partition)
            except KafkaError as error:
                # Every message of the batch was accepted by Temporal already, so going on from
                # the current position loses nothing; it only skips a harmless redelivery.
                log.warning("committed offset of %s unknown (%s): not rewound", partition, error)
                continue
            if committed is None:
                await self.consumer.seek_to_beginning(partition)
            else:
                self.consumer.seek(partition, committed)

    async def run(self) -> None:
        self.state = "consuming"
        try:
            while not self.stop.is_set():
                batch = await self.consumer.getmany(timeout_ms=200, max_records=self.max_batch)
                if batch:
                    await self.process(batch)
                else:
                    await self._commit_if_due()
        except StopRequestedError as stopping:
            log.info("stopped while %s: the batch is not committed and will be delivered again", stopping)
        finally:
            self.state = "stopped"
        # A clean stop: what Temporal accepted before is committed (the batch cut short is not).
        try:
            await self.commit_accepted()
        except KafkaError as error:
            log.warning("accepted offsets not committed at stop (%s): they will be delivered again", error)


def _reasons(error: ValidationError, code: str | None = None) -> tuple[RejectReason, ...]:
    """Field-level reasons of a validation error (each with `code` instead of pydantic's if set)."""
    reasons = tuple(
        RejectReason(
            field=".".join(str(part) for part in item["loc"]) or "$",
            code=code or item["type"],
            message=item["msg"],
        )
        for item in error.errors(include_url=False, include_input=False)
    )
    return reasons or (RejectReason(field="$", code=code or "invalid", message=str(error)),)


def _refusal(error: RPCError) -> RejectReason:
    return RejectReason(field="$", code=f"temporal_{error.status.name.lower()}", message=error.message[:500])


def _letter_for(record: ConsumerRecord[bytes, bytes], reasons: tuple[RejectReason, ...]) -> DeadLetter:
    """The dead letter of the message at `record`'s position (its id derived from the position,
    so a redelivered message makes the same letter)."""
    return DeadLetter(
        dlq_id=uuid.uuid5(uuid.NAMESPACE_URL, f"{record.topic}/{record.partition}/{record.offset}"),
        stage="orchestrator",
        source=SourcePosition(topic=record.topic, partition=record.partition, offset=record.offset),
        key=record.key.decode(errors="replace") if record.key else None,
        reasons=reasons,
        payload_excerpt=redact_excerpt(record.value or b""),
        failed_at=datetime.now(UTC),
    )


class CommitOnRevoke(ConsumerRebalanceListener):  # type: ignore[misc]  # aiokafka is untyped
    """Before partitions go to another member, commit what Temporal accepted of them: the new
    owner starts after it (only an uncommitted batch in flight is delivered again)."""

    def __init__(self) -> None:
        self.bridge: Bridge | None = None

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        if self.bridge is None:
            return
        try:
            await self.bridge.commit_accepted(set(revoked))
        except KafkaError as error:
            log.warning("accepted offsets of revoked partitions not committed (%s): delivered again", error)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        return None


def make_consumer(settings: OrchestratorSettings, listener: CommitOnRevoke | None = None) -> AIOKafkaConsumer:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        group_id=settings.kafka_group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
    )
    consumer.subscribe(
        [settings.normalized_topic or NORMALIZED.name, settings.dlq_topic or DLQ.name],
        listener=listener or CommitOnRevoke(),
    )
    return consumer


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
        client = client or await connect(settings, stop)
        if client is None:  # stopped before Temporal could be reached
            return
        listener = CommitOnRevoke()
        consumer = make_consumer(settings, listener)
        producer = AIOKafkaProducer(
            bootstrap_servers=settings.kafka_bootstrap_servers, acks="all", enable_idempotence=True
        )
        await producer.start()
        await consumer.start()
        try:
            log.info("bridge consuming %s into %s", settings.normalized_topic or NORMALIZED.name, settings.task_queue)
            probe.bridge = listener.bridge = Bridge(client, settings, consumer, producer, metrics, stop)
            await probe.bridge.run()
        finally:
            await consumer.stop()
            await producer.stop()


def main() -> None:
    asyncio.run(run(settings_for_process()))


if __name__ == "__main__":
    main()
