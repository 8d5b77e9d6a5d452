"""The HTTP contract: what each kind of request gets back, and that only accepted ones publish.

The app runs with its real Kafka publisher against the real broker; what was published is read back
from the topics (everything appended since the test began: one pytest process, one test at a time)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from webhook_samples import (
    ADYEN_OLD_KEY_HEX,
    BRAINTREE_OLD_PRIVATE,
    BRAINTREE_OLD_PUBLIC,
    STRIPE_OLD_SECRET,
    SignedRequest,
    adyen_item,
    adyen_request,
    braintree_request,
    square_event,
    square_request,
    stripe_event,
    stripe_request,
)

from contracts.schemas.payment_event import AdyenEnvelope, parse_payment_event
from contracts.topics import webhook_topic
from gateway.asgi import create_app
from integration.kafka_reader import TopicReader
from testing.kafka import KafkaServer

pytestmark = pytest.mark.anyio

Client = AsyncTestClient[Litestar]


async def send(client: Client, request: SignedRequest) -> Any:
    return await client.post(request.path, content=request.body, headers=request.headers)


@pytest.mark.parametrize(
    "build",
    [stripe_request, square_request, adyen_request, braintree_request],
    ids=["stripe", "square", "adyen", "braintree"],
)
async def test_valid_webhook_is_published_then_acknowledged(client: Client, reader: TopicReader, build: Any) -> None:
    request: SignedRequest = build()
    response = await send(client, request)
    assert response.status_code == 200, response.text
    published = await reader.new_records()
    assert len(published) == 1
    message = published[0]
    envelope = parse_payment_event(message.value)
    assert message.topic == webhook_topic(envelope.provider).name
    assert message.key.decode() == envelope.provider_event_id == request.event_ids[0]
    assert envelope.signature_key_id is not None
    if envelope.provider == "adyen":
        assert response.text == "[accepted]"
    else:
        assert response.json() == {"status": "accepted", "envelope_ids": [str(envelope.envelope_id)]}


async def test_envelope_carries_payload_and_key_label_never_the_secret(client: Client, reader: TopicReader) -> None:
    event = stripe_event()
    response = await send(client, stripe_request(event, secrets=[STRIPE_OLD_SECRET]))
    assert response.status_code == 200
    [record] = await reader.new_records()
    value = record.value
    envelope = parse_payment_event(value)
    assert envelope.signature_key_id == "previous"
    assert envelope.event_type == "payment_intent.succeeded"
    assert envelope.payload.raw()["data"]["object"]["metadata"] == {"merchant_id": "m_1"}
    assert STRIPE_OLD_SECRET.encode() not in value
    assert b"stripe-signature" not in value.lower()


async def test_adyen_batch_publishes_every_item_before_accepting(client: Client, reader: TopicReader) -> None:
    request = adyen_request([adyen_item(), adyen_item(eventCode="CAPTURE"), adyen_item(success="false")])
    response = await send(client, request)
    assert response.status_code == 200
    assert response.text == "[accepted]"
    # Items land on several partitions, whose relative order Kafka does not keep: compare as multisets.
    assert sorted(r.key.decode() for r in await reader.new_records()) == sorted(request.event_ids)


async def test_adyen_batch_with_one_bad_item_publishes_nothing(client: Client, reader: TopicReader) -> None:
    request = adyen_request([adyen_item(), adyen_item()])
    document = json.loads(request.body)
    document["notificationItems"][1]["NotificationRequestItem"]["amount"]["value"] += 1
    response = await client.post(request.path, content=json.dumps(document), headers=request.headers)
    assert response.status_code == 401
    assert response.json()["reason"] == "signature_mismatch"
    assert await reader.new_records() == []


async def test_adyen_signatures_are_not_forwarded(client: Client, reader: TopicReader) -> None:
    request = adyen_request([adyen_item(), adyen_item()])
    assert (await send(client, request)).status_code == 200
    published = await reader.new_records()
    assert len(published) == 2
    for message in published:
        envelope = parse_payment_event(message.value)
        assert isinstance(envelope, AdyenEnvelope)
        assert envelope.payload.additional_data == {"authCode": "058158", "cardSummary": "1111"}
        assert b"hmacSignature" not in message.value


async def test_adyen_previous_key_is_named(client: Client, reader: TopicReader) -> None:
    response = await send(client, adyen_request(key_hex=ADYEN_OLD_KEY_HEX))
    assert response.status_code == 200
    assert parse_payment_event((await reader.new_records())[0].value).signature_key_id == "previous"


async def test_braintree_previous_key_pair_is_named(client: Client, reader: TopicReader) -> None:
    response = await send(client, braintree_request(pairs=[(BRAINTREE_OLD_PUBLIC, BRAINTREE_OLD_PRIVATE)]))
    assert response.status_code == 200
    assert parse_payment_event((await reader.new_records())[0].value).signature_key_id == BRAINTREE_OLD_PUBLIC


def _tamper(request: SignedRequest) -> SignedRequest:
    body = request.body.replace(b"1", b"2", 1)
    assert body != request.body
    return SignedRequest(request.path, body, request.headers)


def _tamper_adyen_amount(request: SignedRequest) -> SignedRequest:
    document = json.loads(request.body)
    document["notificationItems"][0]["NotificationRequestItem"]["amount"]["value"] *= 10
    return SignedRequest(request.path, json.dumps(document).encode(), request.headers)


@pytest.mark.parametrize(
    ("build", "status", "reason"),
    [
        (lambda: _tamper(stripe_request()), 401, "signature_mismatch"),
        (lambda: stripe_request(secrets=["whsec_wrong"]), 401, "signature_mismatch"),
        (lambda: stripe_request(timestamp=int(time.time()) - 3600), 401, "timestamp_expired"),
        (lambda: stripe_request(timestamp=int(time.time()) + 3600), 401, "timestamp_in_future"),
        (
            lambda: SignedRequest("/webhooks/stripe", b"{}", {"content-type": "application/json"}),
            401,
            "signature_missing",
        ),
        (
            lambda: SignedRequest(
                "/webhooks/stripe", b"{}", {"content-type": "application/json", "stripe-signature": "x"}
            ),
            401,
            "signature_malformed",
        ),
        (lambda: stripe_request(body=b"{not json"), 400, "malformed_body"),
        (lambda: stripe_request(body=b"\xff\xfe"), 400, "malformed_body"),
        (lambda: _tamper(square_request()), 401, "signature_mismatch"),
        (lambda: square_request(secret="wrong"), 401, "signature_mismatch"),
        (lambda: square_request(url="https://other.example.com/hook"), 401, "signature_mismatch"),
        (lambda: _tamper_adyen_amount(adyen_request()), 401, "signature_mismatch"),
        (lambda: adyen_request(key_hex="AB" * 32), 401, "signature_mismatch"),
        (
            lambda: SignedRequest("/webhooks/adyen", b"nope", {"content-type": "application/json"}),
            400,
            "malformed_body",
        ),
        (
            lambda: SignedRequest("/webhooks/adyen", b"[1]", {"content-type": "application/json"}),
            422,
            "schema_mismatch",
        ),
        (lambda: braintree_request(pairs=[("bt_public_current", "wrong")]), 401, "signature_mismatch"),
        (lambda: braintree_request(pairs=[("unknown_public", "x")]), 401, "signature_mismatch"),
        (lambda: braintree_request(xml="<notification>"), 400, "malformed_body"),
        (
            lambda: SignedRequest(
                "/webhooks/braintree", b"bt_signature=a|b", {"content-type": "application/x-www-form-urlencoded"}
            ),
            400,
            "malformed_body",
        ),
        (
            lambda: SignedRequest("/webhooks/braintree", b"%%%", {"content-type": "application/x-www-form-urlencoded"}),
            400,
            "malformed_body",
        ),
    ],
)
async def test_refusals_have_status_and_reason_and_publish_nothing(
    client: Client, reader: TopicReader, build: Callable[[], SignedRequest], status: int, reason: str
) -> None:
    # Signed here, not at collection: a Stripe signature made when the module was collected is
    # past the 300 s tolerance by the time a long file before this one has run (401, not 400/422).
    response = await send(client, build())
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["reason"] == reason
    assert await reader.new_records() == []


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/webhooks/stripe", "text/plain"),
        ("/webhooks/square", "application/x-www-form-urlencoded"),
        ("/webhooks/adyen", "application/xml"),
        ("/webhooks/braintree", "application/json"),
        ("/webhooks/stripe", ""),
    ],
)
async def test_wrong_content_type_is_415(client: Client, reader: TopicReader, path: str, content_type: str) -> None:
    response = await client.post(path, content=b"{}", headers={"content-type": content_type})
    assert response.status_code == 415
    assert response.json()["reason"] == "unsupported_media_type"
    assert await reader.new_records() == []


@pytest.mark.parametrize("path", ["/webhooks/stripe", "/webhooks/square", "/webhooks/adyen", "/webhooks/braintree"])
async def test_body_over_the_limit_is_413(client: Client, reader: TopicReader, path: str) -> None:
    response = await client.post(path, content=b"x" * (256 * 1024 + 1), headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert response.json()["reason"] == "body_too_large"
    assert await reader.new_records() == []


async def test_body_limit_is_configurable(broker: KafkaServer, reader: TopicReader) -> None:
    from webhook_samples import make_settings

    settings = make_settings(GATEWAY_MAX_BODY_BYTES="2048", GATEWAY_KAFKA_BOOTSTRAP_SERVERS=broker.bootstrap_servers)
    app = create_app(settings)
    async with AsyncTestClient(app=app) as client:
        request = stripe_request(stripe_event(metadata={"pad": "x" * 2048}))
        response = await send(client, request)
    assert response.status_code == 413
    assert await reader.new_records() == []


@pytest.mark.parametrize("build", [stripe_request, square_request, adyen_request, braintree_request])
async def test_broker_down_is_503_with_retry_after(
    gateway_without_broker: Client, reader: TopicReader, build: Any
) -> None:
    response = await send(gateway_without_broker, build())
    assert response.status_code == 503
    assert response.headers["retry-after"] == "7"
    assert response.json()["reason"] == "broker_unavailable"
    assert await reader.new_records() == []


async def test_unknown_route_and_method_are_json_refusals(client: Client) -> None:
    response = await client.post("/webhooks/paypal", content=b"{}")
    assert (response.status_code, response.json()["reason"]) == (404, "not_found")
    response = await client.get("/webhooks/stripe")
    assert (response.status_code, response.json()["reason"]) == (405, "method_not_allowed")


async def test_health_and_readiness(client: Client, gateway_without_broker: Client) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    assert (await client.get("/readyz")).status_code == 200
    response = await gateway_without_broker.get("/readyz")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "7"
    assert (await gateway_without_broker.get("/healthz")).status_code == 200


async def test_metrics_count_requests_by_provider_and_outcome(client: Client) -> None:
    await send(client, stripe_request())
    await send(client, square_request(square_event()))
    await send(client, _tamper(stripe_request()))
    text = (await client.get("/metrics")).text
    assert 'gateway_webhook_requests_total{outcome="accepted",provider="stripe"} 1.0' in text
    assert 'gateway_webhook_requests_total{outcome="signature_mismatch",provider="stripe"} 1.0' in text
    assert 'gateway_webhook_requests_total{outcome="accepted",provider="square"} 1.0' in text
    assert 'gateway_publish_latency_seconds_count{provider="stripe"} 1.0' in text


async def test_openapi_schema_documents_every_route(client: Client) -> None:
    schema = (await client.get("/schema/openapi.json")).json()
    for provider in ("stripe", "square", "adyen", "braintree"):
        operation = schema["paths"][f"/webhooks/{provider}"]["post"]
        assert {"200", "400", "401", "413", "415", "422", "503"} <= set(operation["responses"])
    assert {"/healthz", "/readyz", "/metrics"} <= set(schema["paths"])
