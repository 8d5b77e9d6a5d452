"""One failing message does not stop the bridge. Against a Temporal dev server of the test's own
(which it SIGKILLs and restarts) and the real broker: a transient outage is retried without
committing, a permanent refusal is dead-lettered, a rebalance that fails the commit makes the
batch come again, and an unreadable dead letter gets a triage workflow of its own."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer  # type: ignore[import-untyped]  # no py.typed
from events import make_event, new_payment_id
from temporalio.api.enums.v1 import EventType as HistoryEventType
from temporalio.client import Client, WorkflowExecutionDescription, WorkflowExecutionStatus
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError, RPCStatusCode

from contracts.schemas.dlq import DeadLetter
from integration.support import KillableTemporal, committed_offsets, eventually, read_topic
from orchestrator import bridge
from orchestrator.messages import DeadLetterTriageInput
from orchestrator.settings import OrchestratorSettings

pytestmark = pytest.mark.anyio

MAX_ID_LENGTH = 64
"""Our Temporal's workflow id limit here: `payment-` + a 40-character payment id is refused."""


@pytest.fixture()
def own_temporal(tmp_path: Path) -> Iterator[KillableTemporal]:
    server = KillableTemporal(tmp_path / "temporal", max_id_length=MAX_ID_LENGTH)
    server.root.mkdir()
    server.start()
    yield server
    server.stop()


@pytest.fixture()
def own_settings(settings: OrchestratorSettings, own_temporal: KillableTemporal) -> OrchestratorSettings:
    return settings.model_copy(update={"temporal_address": own_temporal.address, "temporal_namespace": "default"})


@pytest.fixture()
async def own_client(own_settings: OrchestratorSettings) -> Client:
    return await Client.connect(own_settings.temporal_address, data_converter=pydantic_data_converter)


async def start_bridge(settings: OrchestratorSettings, client: Client) -> tuple[asyncio.Task[None], asyncio.Event]:
    stop = asyncio.Event()
    return asyncio.create_task(bridge.run(settings, client, stop)), stop


@pytest.fixture()
async def stopper() -> AsyncIterator[list[tuple[asyncio.Task[None], asyncio.Event]]]:
    """Bridges a test started: stopped (and awaited, so a crash fails the test) at its end."""
    started: list[tuple[asyncio.Task[None], asyncio.Event]] = []
    yield started
    for _, stop in started:
        stop.set()
    for task, _ in started:
        await task


async def probe(settings: OrchestratorSettings, path: str) -> httpx.Response | None:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{settings.health_port}", timeout=5) as http:
        try:
            return await http.get(path)
        except httpx.ConnectError:
            return None


async def metric_lines(settings: OrchestratorSettings) -> set[str]:
    answer = await probe(settings, "/metrics")
    return set(answer.text.splitlines()) if answer is not None else set()


async def send(bootstrap: str, topic: str, value: bytes, key: bytes | None, partition: int | None = None) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(topic, value, key=key, partition=partition)
    finally:
        await producer.stop()


async def described(client: Client, workflow_id: str) -> WorkflowExecutionDescription | None:
    """The workflow's description; None while it does not exist."""
    try:
        return await client.get_workflow_handle(workflow_id).describe()
    except RPCError as error:
        if error.status is RPCStatusCode.NOT_FOUND:
            return None
        raise


async def signals(client: Client, workflow_id: str) -> int:
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    return sum(1 for e in history.events if e.event_type == HistoryEventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED)


async def test_a_refused_event_is_dead_lettered_and_an_unreadable_dead_letter_is_triaged(
    own_settings: OrchestratorSettings,
    own_client: Client,
    stopper: list[tuple[asyncio.Task[None], asyncio.Event]],
) -> None:
    bootstrap, normalized, dlq = (
        own_settings.kafka_bootstrap_servers,
        str(own_settings.normalized_topic),
        str(own_settings.dlq_topic),
    )
    good = make_event(new_payment_id(), customer_id="cus_safe")
    too_long = make_event("stripe:pi_" + "x" * (MAX_ID_LENGTH - 17), customer_id="cus_safe")
    assert len(bridge.payment_workflow_id(too_long.payment_id)) == MAX_ID_LENGTH + 1
    assert len(bridge.payment_workflow_id(good.payment_id)) <= MAX_ID_LENGTH
    for event in (too_long, good):
        await send(bootstrap, normalized, event.model_dump_json().encode(), event.payment_id.encode(), partition=0)
    stopper.append(await start_bridge(own_settings, own_client))

    letters = await read_topic(bootstrap, dlq, DeadLetter, lambda got: len(got) == 1, timeout=90)
    refused = letters[0]
    assert (refused.stage, refused.key) == ("orchestrator", too_long.payment_id)
    assert (refused.source.topic, refused.source.partition, refused.source.offset) == (normalized, 0, 0)
    assert [(r.field, r.code) for r in refused.reasons] == [("$", "temporal_invalid_argument")]
    assert refused.reasons[0].message  # Temporal's own words
    signalled = await eventually(
        lambda: described(own_client, bridge.payment_workflow_id(good.payment_id)), what="good event signalled"
    )
    assert signalled.status == WorkflowExecutionStatus.RUNNING

    # Offset 1 of the DLQ (after the refused event's letter): bytes that are no dead letter. It
    # gets a triage workflow whose id comes from its DLQ position.
    await send(bootstrap, dlq, b"\x00garbage with jane@example.com", b"k-garbage")
    unreadable_id = uuid.uuid5(uuid.NAMESPACE_URL, f"{dlq}/0/1")
    triage = own_client.get_workflow_handle(bridge.dead_letter_workflow_id(unreadable_id))

    async def started_input() -> DeadLetterTriageInput | None:
        try:
            history = await triage.fetch_history()
        except RPCError as error:
            if error.status is RPCStatusCode.NOT_FOUND:  # not started yet
                return None
            raise
        payloads = history.events[0].workflow_execution_started_event_attributes.input.payloads
        (triage_input,) = await pydantic_data_converter.decode(payloads, [DeadLetterTriageInput])
        assert isinstance(triage_input, DeadLetterTriageInput)
        return triage_input

    recorded: DeadLetterTriageInput = await eventually(started_input, what="unreadable dead letter triaged")
    letter = recorded.dead_letter
    assert (letter.dlq_id, letter.stage, letter.key) == (unreadable_id, "orchestrator", "k-garbage")
    assert (letter.source.topic, letter.source.partition, letter.source.offset) == (dlq, 0, 1)
    assert {r.code for r in letter.reasons} == {"unreadable_dead_letter"}
    assert letter.payload_excerpt == "\x00garbage with <email>"
    # The refused event's own dead letter (DLQ offset 0) is triaged too; then every offset is committed.
    await eventually(
        lambda: described(own_client, bridge.dead_letter_workflow_id(refused.dlq_id)),
        what="refused event triaged",
    )

    async def all_committed() -> bool:
        return await committed_offsets(bootstrap, own_settings.kafka_group_id, normalized) == {
            0: 2,
            1: None,
            2: None,
        } and await committed_offsets(bootstrap, own_settings.kafka_group_id, dlq) == {0: 2}

    await eventually(all_committed, what="offsets committed")
    assert {
        'orchestrator_bridge_messages_total{input="normalized",outcome="refused"} 1',
        'orchestrator_bridge_messages_total{input="normalized",outcome="signalled"} 1',
        'orchestrator_bridge_messages_total{input="dlq",outcome="unreadable"} 1',
        'orchestrator_bridge_messages_total{input="dlq",outcome="triaged"} 1',
    } <= await metric_lines(own_settings)
    assert not stopper[0][0].done()


async def test_an_outage_is_retried_uncommitted_and_a_rebalance_mid_batch_redelivers_only_what_moved(
    own_settings: OrchestratorSettings,
    own_client: Client,
    own_temporal: KillableTemporal,
    stopper: list[tuple[asyncio.Task[None], asyncio.Event]],
) -> None:
    bootstrap, normalized = own_settings.kafka_bootstrap_servers, str(own_settings.normalized_topic)
    group = own_settings.kafka_group_id
    events = [make_event(new_payment_id(), customer_id="cus_safe") for _ in range(3)]
    for partition, event in enumerate(events):
        await send(bootstrap, normalized, event.model_dump_json().encode(), event.payment_id.encode(), partition)
    own_temporal.kill()
    stopper.append(await start_bridge(own_settings, own_client))

    async def waiting_for_all() -> bool:
        answer = await probe(own_settings, "/readyz")
        return answer is not None and answer.status_code == 503 and "retrying Temporal for 3 messages" in answer.text

    await eventually(waiting_for_all, timeout=90, what="the whole batch retrying Temporal")
    assert await committed_offsets(bootstrap, group, normalized) == {0: None, 1: None, 2: None}

    # A second member joins the group mid-batch and takes partitions of the batch.
    other = AIOKafkaConsumer(normalized, bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await other.start()
    try:
        await eventually(other.assignment, timeout=90, what="the second member's partitions")
        await asyncio.to_thread(own_temporal.start)  # Temporal is back: the batch goes through
        # The commit leaves out the partitions the rebalance took away (their offsets would fail
        # the commit of every partition held): the kept ones are committed, the other member's
        # stay uncommitted while it holds them (it never polls).
        theirs = {tp.partition for tp in other.assignment()}
        assert theirs

        async def kept_committed() -> bool:
            offsets = await committed_offsets(bootstrap, group, normalized)
            return all((offsets[p] == 1) != (p in theirs) for p in range(3))

        await eventually(kept_committed, timeout=90, what="the kept partitions committed")
        lines = await metric_lines(own_settings)
        # (once, or again after a redelivery of the kept partitions: see the end), never refused
        assert any(line.startswith('orchestrator_bridge_commits_total{result="ok"}') for line in lines)
        assert not any(line.startswith('orchestrator_bridge_commits_total{result="failed"}') for line in lines)
        assert not stopper[0][0].done()
    finally:
        await other.stop()  # leaves the group: the bridge gets every partition back

    async def all_committed() -> bool:
        return await committed_offsets(bootstrap, group, normalized) == {0: 1, 1: 1, 2: 1}

    await eventually(all_committed, timeout=90, what="offsets committed after the rebalance")
    # The events of the partitions that moved reached their workflow twice: they came again
    # from the committed offset when the partitions came back (the second delivery is the
    # duplicate the workflow ignores by event id). The kept ones once, or twice if the group had
    # already reset their fetch position to the committed offset (the rebalance reassigns every
    # partition) before the commit went through.
    ids = [bridge.payment_workflow_id(e.payment_id) for e in events]
    counts = [await signals(own_client, i) for i in ids]
    assert [counts[p] for p in sorted(theirs)] == [2] * len(theirs)
    assert all(counts[p] in (1, 2) for p in range(3) if p not in theirs)
    answer = await probe(own_settings, "/readyz")
    assert answer is not None and answer.status_code == 200
    assert not stopper[0][0].done()


async def test_a_stop_while_retrying_temporal_leaves_the_batch_uncommitted(
    own_settings: OrchestratorSettings, own_client: Client, own_temporal: KillableTemporal
) -> None:
    bootstrap, normalized = own_settings.kafka_bootstrap_servers, str(own_settings.normalized_topic)
    event = make_event(new_payment_id(), customer_id="cus_safe")
    await send(bootstrap, normalized, event.model_dump_json().encode(), event.payment_id.encode(), partition=1)
    own_temporal.kill()
    task, stop = await start_bridge(own_settings, own_client)

    async def retrying() -> bool:
        answer = await probe(own_settings, "/readyz")
        return answer is not None and answer.status_code == 503 and "retrying Temporal for 1 messages" in answer.text

    await eventually(retrying, timeout=90, what="the event retrying Temporal")
    stop.set()
    await task  # returns: the stop ends the retry, nothing raised
    assert await committed_offsets(bootstrap, own_settings.kafka_group_id, normalized) == {0: None, 1: None, 2: None}
