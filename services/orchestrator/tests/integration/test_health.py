"""`/healthz`, `/readyz` and `/metrics` of the worker and the bridge, run as they run in
production (`worker.run`, `bridge.run`) against real Temporal, Kafka and inference."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from aiokafka import AIOKafkaProducer  # type: ignore[import-untyped]  # no py.typed
from events import make_event, new_payment_id
from temporalio.client import Client

from contracts.schemas.decision import Decision, PaymentDecision
from integration.support import card_of, eventually, produce, read_topic
from orchestrator import bridge
from orchestrator import worker as worker_process
from orchestrator.settings import OrchestratorSettings, decision_policy
from orchestrator.store import PaymentsStore
from testing.processes import free_port

pytestmark = pytest.mark.anyio


def health_url(settings: OrchestratorSettings) -> str:
    return f"http://127.0.0.1:{settings.health_port}"


async def get(settings: OrchestratorSettings, path: str) -> httpx.Response | None:
    """The answer, or None while nothing listens yet."""
    async with httpx.AsyncClient(base_url=health_url(settings), timeout=5) as http:
        try:
            return await http.get(path)
        except httpx.ConnectError:
            return None


async def ready(settings: OrchestratorSettings) -> httpx.Response | None:
    answer = await get(settings, "/readyz")
    return answer if answer is not None and answer.status_code == 200 else None


async def test_the_worker_is_ready_once_polling_and_counts_its_activities(
    client: Client, settings: OrchestratorSettings
) -> None:
    probe = worker_process.WorkerProbe()
    assert await probe.ready() == (False, "connecting to Temporal")
    stop = asyncio.Event()
    task = asyncio.create_task(worker_process.run(settings, client, stop))
    try:
        answer: httpx.Response = await eventually(lambda: ready(settings), what="worker ready")
        assert answer.json() == {"status": "ready", "detail": f"polling {settings.task_queue}"}
        alive = await get(settings, "/healthz")
        assert alive is not None and alive.json() == {"status": "ok"}
        event = make_event(new_payment_id(), customer_id="cus_safe", card_fingerprint=card_of("cus_safe"))
        await bridge.signal_payment(client, settings.task_queue, decision_policy(settings), event)
        await read_topic(
            settings.kafka_bootstrap_servers,
            str(settings.decisions_topic),
            PaymentDecision,
            lambda got: any(d.payment_id == event.payment_id for d in got),
        )
        metrics = await get(settings, "/metrics")
        assert metrics is not None
        # An approved payment with a customer: one attempt of each of these five, each completed.
        for name in ("record_event", "score_fraud", "score_churn", "store_decision", "publish_decision"):
            line = f'orchestrator_activity_attempts_total{{activity="{name}",outcome="completed"}} 1'
            assert line in metrics.text.splitlines(), metrics.text
    finally:
        stop.set()
        await task
    # Stopped: nothing listens any more.
    assert await get(settings, "/healthz") is None


async def _forward(
    target_host: str, target_port: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    """Copy bytes both ways between a client and the broker (a plain TCP relay, no Kafka logic)."""
    upstream_reader, upstream_writer = await asyncio.open_connection(target_host, target_port)

    async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        try:
            while data := await source.read(65536):
                sink.write(data)
                await sink.drain()
        except ConnectionError:
            pass  # the other side went away: the relay of this connection ends
        finally:
            sink.close()

    await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))


async def test_the_worker_starts_without_kafka_and_is_ready_once_it_answers(
    client: Client, settings: OrchestratorSettings
) -> None:
    # Nothing listens at the worker's Kafka address yet.
    port = free_port()
    unreachable = settings.model_copy(update={"kafka_bootstrap_servers": f"127.0.0.1:{port}"})
    stop = asyncio.Event()
    task = asyncio.create_task(worker_process.run(unreachable, client, stop))
    relay: asyncio.Server | None = None
    try:

        async def not_ready_for_kafka() -> httpx.Response | None:
            answer = await get(unreachable, "/readyz")
            return answer if answer is not None and "Kafka" in answer.text else None

        answer: httpx.Response = await eventually(not_ready_for_kafka, what="readiness naming Kafka")
        assert answer.status_code == 503
        assert answer.json()["reason"].startswith(
            f"Kafka at 127.0.0.1:{port} unreachable: KafkaConnectionError: Unable to bootstrap"
        )
        assert not task.done()
        # It polls and decides meanwhile: the decision is stored; its publish waits.
        event = make_event(new_payment_id(), customer_id="cus_safe", card_fingerprint=card_of("cus_safe"))
        await bridge.signal_payment(client, settings.task_queue, decision_policy(settings), event)
        store = PaymentsStore.from_dsn(settings.store_dsn)
        await eventually(lambda: store.payment_decisions(event.payment_id), what="decision stored")
        # The publish failed its local attempts and waits as a regular activity, which Temporal
        # retries (and which shows as pending in the UI) until the broker answers.
        handle = client.get_workflow_handle(bridge.payment_workflow_id(event.payment_id))

        async def publish_pending() -> bool:
            described = await handle.describe()
            return any(a.activity_type.name == "publish_decision" for a in described.raw_description.pending_activities)

        await eventually(publish_pending, what="the publish pending as a regular activity")
        # The broker becomes reachable at that address (a TCP relay to the real one: the broker
        # then advertises its own address, which the producer uses from there on).
        host, broker_port = settings.kafka_bootstrap_servers.split(",")[0].rsplit(":", 1)
        relay = await asyncio.start_server(lambda r, w: _forward(host, int(broker_port), r, w), "127.0.0.1", port)
        await eventually(lambda: ready(unreachable), what="worker ready once Kafka answers")
        published = await read_topic(
            settings.kafka_bootstrap_servers,
            str(settings.decisions_topic),
            PaymentDecision,
            lambda got: any(d.payment_id == event.payment_id for d in got),
        )
        assert [d.decision for d in published if d.payment_id == event.payment_id] == [Decision.APPROVE]
    finally:
        stop.set()
        await task
        if relay is not None:
            relay.close()


async def test_the_worker_starts_without_temporal_and_is_ready_once_it_answers(
    client: Client, settings: OrchestratorSettings, caplog: pytest.LogCaptureFixture
) -> None:
    # Nothing listens at the worker's Temporal address yet; no client is handed in.
    port = free_port()
    unreachable = settings.model_copy(update={"temporal_address": f"127.0.0.1:{port}"})
    stop = asyncio.Event()
    task = asyncio.create_task(worker_process.run(unreachable, None, stop))
    relay: asyncio.Server | None = None
    try:

        def retried() -> bool:
            return any(
                r.name == "orchestrator.temporal" and f"Temporal at 127.0.0.1:{port} unreachable" in r.getMessage()
                for r in caplog.records
            )

        await eventually(retried, what="a warning naming Temporal's address")
        answer = await get(unreachable, "/readyz")
        assert answer is not None and answer.status_code == 503
        assert answer.json()["reason"] == "connecting to Temporal"
        assert not task.done()
        # Temporal becomes reachable at that address (a TCP relay to the real frontend).
        host, temporal_port = settings.temporal_address.rsplit(":", 1)
        relay = await asyncio.start_server(lambda r, w: _forward(host, int(temporal_port), r, w), "127.0.0.1", port)
        polling: httpx.Response = await eventually(
            lambda: ready(unreachable), what="worker ready once Temporal answers"
        )
        assert polling.json() == {"status": "ready", "detail": f"polling {settings.task_queue}"}
    finally:
        stop.set()
        await task
        if relay is not None:
            relay.close()


@pytest.fixture()
async def bridge_task(worker: Client, settings: OrchestratorSettings) -> AsyncIterator[asyncio.Task[None]]:
    stop = asyncio.Event()
    task = asyncio.create_task(bridge.run(settings, worker, stop))
    yield task
    stop.set()
    await task


async def test_the_bridge_is_ready_with_partitions_and_counts_its_messages(
    bridge_task: asyncio.Task[None], settings: OrchestratorSettings
) -> None:
    answer: httpx.Response = await eventually(lambda: ready(settings), what="bridge ready")
    # The normalized topic has 3 partitions, the dead-letter topic 1: this only member holds all.
    assert answer.json() == {"status": "ready", "detail": "consuming 4 partitions"}
    event = make_event(new_payment_id(), customer_id="cus_safe", card_fingerprint=card_of("cus_safe"))
    await produce(settings.kafka_bootstrap_servers, str(settings.normalized_topic), [event])
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers)
    await producer.start()
    try:
        await producer.send_and_wait(str(settings.normalized_topic), b"not json", key=b"k")
    finally:
        await producer.stop()
    expected = {
        'orchestrator_bridge_messages_total{input="normalized",outcome="signalled"} 1',
        'orchestrator_bridge_messages_total{input="normalized",outcome="dead_lettered"} 1',
        # The dead letter the bridge wrote comes back on the DLQ topic and is triaged.
        'orchestrator_bridge_messages_total{input="dlq",outcome="triaged"} 1',
    }

    async def counted() -> bool:
        metrics = await get(settings, "/metrics")
        return metrics is not None and expected <= set(metrics.text.splitlines())

    await eventually(counted, what="messages counted")
