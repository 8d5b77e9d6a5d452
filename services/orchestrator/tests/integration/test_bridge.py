"""The bridge: consumer group -> signal-with-start, offsets committed after Temporal accepted;
malformed input dead-lettered; dead letters triaged. Real Kafka, Temporal and inference."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer  # type: ignore[import-untyped]  # no py.typed
from events import make_event, new_payment_id
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError

from contracts.schemas.decision import Decision, PaymentDecision
from contracts.schemas.dlq import DeadLetter
from contracts.schemas.normalized_event import EventType
from integration.support import card_of, committed_offsets, eventually, produce, read_topic
from orchestrator import bridge
from orchestrator.bridge import payment_workflow_id
from orchestrator.settings import OrchestratorSettings
from orchestrator.store import PaymentsStore
from orchestrator.workflows import DeadLetterTriageWorkflow, PaymentWorkflow

pytestmark = pytest.mark.anyio


@pytest.fixture()
async def running_bridge(worker: Client, settings: OrchestratorSettings) -> AsyncIterator[Client]:
    stop = asyncio.Event()
    task = asyncio.create_task(bridge.run(settings, worker, stop))
    yield worker
    stop.set()
    await task


async def committed(settings: OrchestratorSettings, topic: str) -> dict[int, int | None]:
    return await committed_offsets(settings.kafka_bootstrap_servers, settings.kafka_group_id, topic)


async def test_every_payment_gets_one_workflow_and_one_decision_and_offsets_follow(
    running_bridge: Client, settings: OrchestratorSettings
) -> None:
    payments = [new_payment_id() for _ in range(3)]
    events = [make_event(p, customer_id="cus_safe", card_fingerprint=card_of("cus_safe")) for p in payments]
    captured = make_event(
        payments[0], EventType.PAYMENT_CAPTURED, minutes=1, customer_id="cus_safe", card_fingerprint=card_of("cus_safe")
    )
    # A duplicate as a redelivering producer would send it.
    await produce(settings.kafka_bootstrap_servers, str(settings.normalized_topic), [*events, captured, events[1]])
    decisions = await read_topic(
        settings.kafka_bootstrap_servers,
        str(settings.decisions_topic),
        PaymentDecision,
        lambda got: {d.payment_id for d in got} == set(payments),
    )
    assert sorted(d.payment_id for d in decisions) == sorted(payments)
    assert all(d.decision is Decision.APPROVE for d in decisions)
    handle = running_bridge.get_workflow_handle_for(PaymentWorkflow.run, payment_workflow_id(payments[0]))

    async def both_events() -> bool:
        return len(await handle.query(PaymentWorkflow.history)) == 2

    await eventually(both_events, what="capture reaches the same workflow")
    store = PaymentsStore.from_dsn(settings.store_dsn)
    assert [len(store.payment_decisions(p)) for p in payments] == [1, 1, 1]
    assert len(store.payment_events(payments[1])) == 1

    async def all_committed() -> bool:
        offsets = await committed(settings, str(settings.normalized_topic))
        return sum(offset or 0 for offset in offsets.values()) == 5

    await eventually(all_committed, what="offsets committed")


async def test_a_malformed_event_is_dead_lettered_and_triaged_while_the_bridge_keeps_serving(
    running_bridge: Client, settings: OrchestratorSettings
) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers)
    await producer.start()
    try:
        await producer.send_and_wait(
            str(settings.normalized_topic), b'{"event_id": "nope", "card": "4242 4242 4242 4242"}', key=b"k1"
        )
    finally:
        await producer.stop()
    letters = await read_topic(
        settings.kafka_bootstrap_servers, str(settings.dlq_topic), DeadLetter, lambda got: bool(got)
    )
    letter = letters[0]
    assert letter.stage == "orchestrator"
    assert letter.source.topic == settings.normalized_topic
    assert "event_id" in {reason.field for reason in letter.reasons}
    assert "4242 4242" not in letter.payload_excerpt and "<pan>" in letter.payload_excerpt
    # The bridge reads the DLQ too: the dead letter gets its triage workflow and store row.
    handle = running_bridge.get_workflow_handle_for(
        DeadLetterTriageWorkflow.run, bridge.dead_letter_workflow_id(letter.dlq_id)
    )
    store = PaymentsStore.from_dsn(settings.store_dsn)
    row = await eventually(lambda: store.dead_letter(str(letter.dlq_id)), what="triage row")
    assert (row.status, row.stage) == ("open", "orchestrator")
    assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING
    # And it still serves good events.
    event = make_event(new_payment_id(), customer_id="cus_safe", card_fingerprint=card_of("cus_safe"))
    await produce(settings.kafka_bootstrap_servers, str(settings.normalized_topic), [event])
    await read_topic(
        settings.kafka_bootstrap_servers,
        str(settings.decisions_topic),
        PaymentDecision,
        lambda got: any(d.payment_id == event.payment_id for d in got),
    )


async def test_an_event_of_a_closed_payment_workflow_is_dead_lettered_not_started_over(
    running_bridge: Client, settings: OrchestratorSettings
) -> None:
    payment_id = new_payment_id()
    card = card_of("cus_safe")
    await produce(
        settings.kafka_bootstrap_servers,
        str(settings.normalized_topic),
        [make_event(payment_id, customer_id="cus_safe", card_fingerprint=card)],
    )
    handle = running_bridge.get_workflow_handle_for(PaymentWorkflow.run, payment_workflow_id(payment_id))

    async def decided() -> PaymentDecision | None:
        try:
            return await handle.query(PaymentWorkflow.decision)
        except RPCError:  # the bridge has not started the workflow yet
            return None

    await eventually(decided, what="decision")
    await handle.terminate(reason="test: closed by an operator")
    closed_run = (await handle.describe()).run_id
    refunded = make_event(payment_id, EventType.REFUND_SUCCEEDED, minutes=10, refund_id="re_1", card_fingerprint=card)
    await produce(settings.kafka_bootstrap_servers, str(settings.normalized_topic), [refunded])
    letters = await read_topic(
        settings.kafka_bootstrap_servers,
        str(settings.dlq_topic),
        DeadLetter,
        lambda got: any(letter.key == payment_id for letter in got),
    )
    letter = next(letter for letter in letters if letter.key == payment_id)
    assert [(r.field, r.code) for r in letter.reasons] == [("payment_id", "payment_workflow_closed")]
    assert str(refunded.event_id) in letter.payload_excerpt
    described = await handle.describe()
    assert (described.run_id, described.status) == (closed_run, WorkflowExecutionStatus.TERMINATED)


@asynccontextmanager
async def holding_bridge(worker: Client, settings: OrchestratorSettings, count: int) -> AsyncIterator[None]:
    """`count` payments produced and a bridge that holds accepted offsets for five minutes; entered
    once every payment is decided while nothing is committed yet; the bridge stops cleanly on exit."""
    payments = [new_payment_id() for _ in range(count)]
    events = [make_event(p, customer_id="cus_safe", card_fingerprint=card_of("cus_safe")) for p in payments]
    await produce(settings.kafka_bootstrap_servers, str(settings.normalized_topic), events)
    store = PaymentsStore.from_dsn(settings.store_dsn)
    stop = asyncio.Event()
    holding = settings.model_copy(update={"bridge_commit_interval_seconds": 300.0})
    task = asyncio.create_task(bridge.run(holding, worker, stop))
    try:
        await eventually(lambda: all(store.payment_decisions(p) for p in payments), what="every payment decided")
        assert set((await committed(settings, str(settings.normalized_topic))).values()) == {None}
        yield
        assert not task.done()
    finally:
        stop.set()
        await task


async def committed_sum(settings: OrchestratorSettings) -> int:
    return sum(offset or 0 for offset in (await committed(settings, str(settings.normalized_topic))).values())


async def test_held_offsets_are_committed_at_a_clean_stop(worker: Client, settings: OrchestratorSettings) -> None:
    async with holding_bridge(worker, settings, 3):
        pass
    assert await committed_sum(settings) == 3


async def test_held_offsets_are_committed_before_the_group_moves_their_partitions(
    worker: Client, settings: OrchestratorSettings
) -> None:
    other = AIOKafkaConsumer(
        str(settings.normalized_topic),
        str(settings.dlq_topic),
        bootstrap_servers=settings.kafka_bootstrap_servers,
        group_id=settings.kafka_group_id,
        enable_auto_commit=False,
    )
    async with holding_bridge(worker, settings, 6):
        # A second member joins: the rebalance revokes the bridge's partitions, and the bridge
        # commits what Temporal accepted of them before anyone else reads them.
        await other.start()
        try:
            await eventually(lambda: committed_sum(settings), what="held offsets committed on revoke")
            assert await committed_sum(settings) == 6
        finally:
            await other.stop()
