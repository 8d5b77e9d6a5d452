"""Against the real broker: accepted webhooks land on their topic exactly as published; refused
ones publish nothing."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiokafka.errors import OutOfOrderSequenceNumber  # type: ignore[import-untyped]
from litestar import Litestar
from litestar.di import Provide
from litestar.testing import AsyncTestClient
from webhook_samples import (
    SignedRequest,
    adyen_item,
    adyen_request,
    braintree_request,
    make_settings,
    square_request,
    stripe_event,
    stripe_request,
)

from contracts.reference.providers import Provider
from contracts.schemas.payment_event import parse_payment_event
from contracts.schemas.providers.adyen import AdyenNotification
from contracts.schemas.providers.braintree import BraintreeNotification
from contracts.schemas.providers.square import SquareEvent
from contracts.schemas.providers.stripe import StripeEvent
from contracts.topics import webhook_topic
from gateway.asgi import create_app
from gateway.braintree_xml import decode_payload, parse_notification
from gateway.errors import BrokerUnavailableError
from gateway.publisher import KafkaPublisher, Message
from gateway.settings import GatewaySettings
from gateway.webhooks import WebhookService
from integration.kafka_reader import TopicReader

pytestmark = pytest.mark.anyio

Client = AsyncTestClient[Litestar]


async def send(client: Client, request: SignedRequest) -> Any:
    return await client.post(request.path, content=request.body, headers=request.headers)


def expected_payloads(provider: Provider, request: SignedRequest) -> list[Any]:
    if provider is Provider.STRIPE:
        return [StripeEvent.model_validate_json(request.body)]
    if provider is Provider.SQUARE:
        return [SquareEvent.model_validate_json(request.body)]
    if provider is Provider.ADYEN:
        document = json.loads(request.body)
        for wrapper in document["notificationItems"]:
            del wrapper["NotificationRequestItem"]["additionalData"]["hmacSignature"]  # never forwarded
        return [w.item for w in AdyenNotification.model_validate(document).notification_items]
    from urllib.parse import parse_qs

    payload = parse_qs(request.body.decode())["bt_payload"][0].encode()
    return [BraintreeNotification.model_validate(parse_notification(decode_payload(payload)))]


BUILDERS: dict[Provider, Callable[[], SignedRequest]] = {
    Provider.STRIPE: stripe_request,
    Provider.SQUARE: square_request,
    Provider.ADYEN: lambda: adyen_request([adyen_item(), adyen_item(eventCode="CAPTURE")]),
    Provider.BRAINTREE: braintree_request,
}


@pytest.mark.parametrize("provider", list(Provider))
async def test_valid_webhook_lands_on_its_topic_exactly_as_published(
    gateway: Client, reader: TopicReader, provider: Provider
) -> None:
    request: SignedRequest = BUILDERS[provider]()
    before = datetime.now(UTC)
    response = await send(gateway, request)
    assert response.status_code == 200, response.text

    records = await reader.records_for(request.event_ids)
    assert sorted(r.key.decode() for r in records) == sorted(request.event_ids)  # each exactly once
    assert {r.topic for r in records} == {webhook_topic(provider).name}
    envelopes = [
        parse_payment_event(r.value) for r in sorted(records, key=lambda r: request.event_ids.index(r.key.decode()))
    ]
    assert [e.payload for e in envelopes] == expected_payloads(provider, request)
    for envelope, event_id in zip(envelopes, request.event_ids, strict=True):
        assert envelope.provider is provider
        assert envelope.provider_event_id == event_id
        assert envelope.signature_key_id is not None
        assert before - timedelta(seconds=1) <= envelope.received_at <= datetime.now(UTC)
    if provider is not Provider.ADYEN:
        assert response.json()["envelope_ids"] == [str(e.envelope_id) for e in envelopes]
    else:
        assert response.text == "[accepted]"


def _tampered(request: SignedRequest) -> SignedRequest:
    return SignedRequest(request.path, request.body.replace(b"2599", b"2600"), request.headers, request.event_ids)


@pytest.mark.parametrize(
    ("case", "build", "reason"),
    [
        ("tampered body", lambda: _tampered(stripe_request()), "signature_mismatch"),
        ("wrong secret", lambda: stripe_request(secrets=["whsec_not_ours"]), "signature_mismatch"),
        ("expired timestamp", lambda: stripe_request(timestamp=int(time.time()) - 301), "timestamp_expired"),
        ("future timestamp", lambda: stripe_request(timestamp=int(time.time()) + 301), "timestamp_in_future"),
        ("square wrong key", lambda: square_request(secret="not-ours"), "signature_mismatch"),
        ("adyen wrong key", lambda: adyen_request(key_hex="AB" * 32), "signature_mismatch"),
        ("braintree wrong key", lambda: braintree_request(pairs=[("bt_public_current", "nope")]), "signature_mismatch"),
    ],
)
async def test_refused_webhook_is_401_and_publishes_nothing(
    gateway: Client, reader: TopicReader, case: str, build: Any, reason: str
) -> None:
    request: SignedRequest = build()
    response = await send(gateway, request)
    assert response.status_code == 401, case
    assert response.json()["reason"] == reason
    # The gateway publishes before it answers, so anything it published is already on the topic.
    assert await reader.records_for(request.event_ids) == []


async def test_replayed_webhook_is_refused_once_its_timestamp_is_old(broker: Any, reader: TopicReader) -> None:
    settings: GatewaySettings = make_settings(
        GATEWAY_KAFKA_BOOTSTRAP_SERVERS=broker.bootstrap_servers, GATEWAY_STRIPE_TOLERANCE_SECONDS="2"
    )
    request = stripe_request()
    app = create_app(settings)
    provide = app.dependencies["webhooks"]
    assert isinstance(provide, Provide)
    service: WebhookService = provide.dependency()
    started = time.time()
    service.clock = lambda: started
    async with AsyncTestClient(app=app) as client:
        assert (await send(client, request)).status_code == 200
        # 3.2 s later by the gateway's clock (tolerance 2 s), without waiting for it.
        service.clock = lambda: started + 3.2
        replay = await send(client, request)
    assert replay.status_code == 401
    assert replay.json()["reason"] == "timestamp_expired"
    assert len(await reader.records_for(request.event_ids)) == 1


async def test_an_event_larger_than_the_broker_takes_is_a_413_not_a_retry(broker: Any, reader: TopicReader) -> None:
    """Configured past the broker's `message.max.bytes` (1 MiB by default): retrying cannot help,
    so the provider is told 413, not 503, and the gateway keeps serving."""
    settings: GatewaySettings = make_settings(
        GATEWAY_KAFKA_BOOTSTRAP_SERVERS=broker.bootstrap_servers,
        GATEWAY_MAX_BODY_BYTES=str(3 * 1024 * 1024),
        GATEWAY_KAFKA_MAX_REQUEST_BYTES=str(4 * 1024 * 1024),
    )
    large = stripe_request(stripe_event(description="x" * (2 * 1024 * 1024)))
    small = stripe_request()
    async with AsyncTestClient(app=create_app(settings)) as client:
        refused = await send(client, large)
        accepted = await send(client, small)
    assert refused.status_code == 413, refused.text
    assert refused.json()["reason"] == "body_too_large"
    assert accepted.status_code == 200, accepted.text
    assert await reader.records_for(large.event_ids) == []


async def test_readiness_reflects_the_broker(gateway: Client) -> None:
    response = await gateway.get("/readyz")
    assert response.status_code == 200, response.text


async def test_a_producer_that_failed_for_good_is_replaced(
    kafka_settings: GatewaySettings, reader: TopicReader
) -> None:
    """aiokafka's sender stops on a fatal idempotence error and fails every later send with it.
    The publisher answers 503 for that send, reports not ready, and connects a new producer."""
    topic = webhook_topic(Provider.STRIPE).name

    def message() -> Message:
        key = f"evt_{uuid.uuid4().hex}"
        return Message(topic=topic, key=key.encode(), value=json.dumps({"id": key}).encode())

    publisher = KafkaPublisher(kafka_settings)
    await publisher.start()
    try:
        first, during, after = message(), message(), message()
        await publisher.publish([first])
        broken = publisher._producer
        assert broken is not None
        # What the sender does when its routine ends with this error (aiokafka Sender._fail_all).
        broken._message_accumulator.fail_all(OutOfOrderSequenceNumber())
        with pytest.raises(BrokerUnavailableError, match="OutOfOrderSequenceNumber"):
            await publisher.publish([during])
        assert not await publisher.ready()

        async with asyncio.timeout(30):
            while not await publisher.ready():  # the replacement connects in the background
                await asyncio.sleep(0.05)
        assert publisher._producer is not broken
        await publisher.publish([after])
    finally:
        await publisher.stop()
    landed = await reader.records_for([m.key.decode() for m in (first, during, after)])
    assert sorted(record.key for record in landed) == sorted([first.key, after.key])
