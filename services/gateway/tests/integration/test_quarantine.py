"""Quarantine: an authentic body that our contract refuses is kept and answered 2xx; a redrive
delivers it once the contract accepts it. Unsigned or wrongly signed bodies are stored nowhere.

"The contract now accepts it" is simulated by handing the redrive a contract model extended the
way the real fix would extend `contracts` (a subclass of `StripeEvent` whose payment-intent status
also allows the new value), through the redrive's `Decoder(ProviderModels(...))` parameter: the
test then runs the redrive's real decode, envelope and publish path on the real broker, without
changing the contracts package that every other test in this process imports.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from webhook_samples import (
    SignedRequest,
    adyen_item,
    adyen_request,
    braintree_request,
    braintree_xml,
    content_without_signatures,
    make_settings,
    square_event,
    square_request,
    stripe_event,
    stripe_request,
)

from contracts.reference.providers import Provider
from contracts.schemas.payment_event import StripeEnvelope
from contracts.schemas.providers.stripe import StripeEvent, StripeEventData, StripePaymentIntent
from contracts.schemas.quarantine import QuarantinedWebhook
from contracts.topics import QUARANTINE, webhook_topic
from gateway.intake import Accepted, Decoder, Delivery, Intake, ProviderModels, without_signatures
from gateway.redrive import redrive
from integration.kafka_reader import Record, TopicReader
from testing.kafka import KafkaServer

pytestmark = pytest.mark.anyio

Client = AsyncTestClient[Litestar]
NEW_STATUS = "requires_reauthorization"
"""A payment-intent status our contract does not know (yet)."""


class PaymentIntentWithNewStatus(StripePaymentIntent):
    status: str  # type: ignore[assignment]  # the widened contract: any status string


class EventDataWithNewStatus(StripeEventData):
    object: PaymentIntentWithNewStatus


class StripeEventWithNewStatus(StripeEvent):
    data: EventDataWithNewStatus


class StripeEnvelopeWithNewStatus(StripeEnvelope):
    """How a consumer that adopted the same contract change reads the redriven envelope."""

    payload: StripeEventWithNewStatus


async def send(client: Client, request: SignedRequest) -> Any:
    return await client.post(request.path, content=request.body, headers=request.headers)


def quarantined(records: list[Record]) -> list[Record]:
    return [record for record in records if record.topic == QUARANTINE.name]


async def test_signed_body_with_unknown_enum_value_is_quarantined_and_redriven_once(
    client: Client, reader: TopicReader, broker: KafkaServer
) -> None:
    request = stripe_request(stripe_event(status=NEW_STATUS))
    event_id = json.loads(request.body)["id"]

    response = await send(client, request)

    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["status"] == "quarantined"
    records = await reader.new_records()
    assert [record.topic for record in records] == [QUARANTINE.name]  # on no webhook topic
    record = records[0]
    assert record.key == b"stripe:" + hashlib.sha256(request.body).hexdigest().encode()
    kept = QuarantinedWebhook.model_validate_json(record.value)
    assert str(kept.quarantine_id) == answer["quarantine_id"]
    assert kept.provider is Provider.STRIPE
    assert base64.b64decode(kept.body_base64) == request.body
    assert kept.content_type == request.headers["content-type"]
    assert "stripe-signature" not in kept.headers
    assert request.headers["stripe-signature"] not in record.value.decode()
    assert kept.signature_key_ids == ("current",)
    assert [(reason.field, reason.code) for reason in kept.reasons] == [
        ("data.object.payment_intent.status", "literal_error")
    ]
    assert NEW_STATUS not in json.dumps([reason.model_dump() for reason in kept.reasons])  # no input values
    metrics = (await client.get("/metrics")).text
    assert 'gateway_webhook_requests_total{outcome="quarantined",provider="stripe"} 1.0' in metrics

    # Today's contract still refuses it: it stays quarantined, nothing is published.
    await reader.mark()
    report = await redrive(broker.bootstrap_servers, providers=[Provider.STRIPE])
    mine = [entry for entry in report.still_quarantined if entry["quarantine_id"] == answer["quarantine_id"]]
    assert len(mine) == 1 and mine[0]["reasons"][0]["type"] == "literal_error", report.as_json()[-3000:]
    assert await reader.new_records() == []

    # Once the contract accepts the new status, the redrive delivers it, once.
    accepting = Decoder(ProviderModels(stripe=StripeEventWithNewStatus))
    report = await redrive(broker.bootstrap_servers, decoder=accepting, providers=[Provider.STRIPE])
    delivered = await reader.new_records()
    assert [(r.topic, r.key) for r in delivered] == [(webhook_topic(Provider.STRIPE).name, event_id.encode())]
    assert {
        "quarantine_id": answer["quarantine_id"],
        "provider": "stripe",
        "event_ids": [event_id],
        "published": [
            {
                "topic": "webhooks.stripe.v1",
                "key": event_id,
                "partition": delivered[0].partition,
                "offset": delivered[0].offset,
            }
        ],
    } in report.redriven
    envelope = StripeEnvelopeWithNewStatus.model_validate_json(delivered[0].value)
    assert envelope.received_at == kept.received_at
    assert envelope.signature_key_id == "current"
    assert envelope.payload.data.object.status == NEW_STATUS
    assert json.loads(delivered[0].value)["payload"] == json.loads(request.body)

    await reader.mark()
    again = await redrive(broker.bootstrap_servers, decoder=accepting, providers=[Provider.STRIPE])
    assert answer["quarantine_id"] in {entry["quarantine_id"] for entry in again.already_delivered}, again.as_json()[
        :3000
    ]
    assert answer["quarantine_id"] not in {entry["quarantine_id"] for entry in again.redriven}
    assert await reader.new_records() == []


@pytest.mark.parametrize(
    ("build", "reason"),
    [
        (lambda: stripe_request(stripe_event(status=NEW_STATUS), secrets=["whsec_wrong"]), "signature_mismatch"),
        (
            lambda: SignedRequest(
                "/webhooks/stripe",
                json.dumps(stripe_event(status=NEW_STATUS)).encode(),
                {"content-type": "application/json"},
            ),
            "signature_missing",
        ),
    ],
    ids=["wrongly-signed", "unsigned"],
)
async def test_unsigned_or_wrongly_signed_unfit_body_is_401_and_stored_nowhere(
    client: Client, reader: TopicReader, build: Callable[[], SignedRequest], reason: str
) -> None:
    response = await send(client, build())
    assert response.status_code == 401
    assert response.json()["reason"] == reason
    assert await reader.new_records() == []  # neither a webhook topic nor the quarantine topic


@pytest.mark.parametrize(
    ("build", "provider", "field", "code"),
    [
        # Built inside the test (a Stripe signature is only valid for the tolerance window).
        (lambda: stripe_request(body=b"[]"), Provider.STRIPE, "body", "model_type"),
        (
            lambda: stripe_request(stripe_event(amount=25.99)),
            Provider.STRIPE,
            "data.object.payment_intent.amount",
            "int_type",
        ),
        (
            lambda: adyen_request([adyen_item(eventDate="yesterday")]),
            Provider.ADYEN,
            "notificationItems.0.NotificationRequestItem.eventDate",
            "datetime_from_date_parsing",
        ),
        (
            lambda: braintree_request(xml=braintree_xml().replace("<amount>10.00", "<amount>ten")),
            Provider.BRAINTREE,
            "notification.subject.transaction.amount",
            "decimal_parsing",
        ),
    ],
    ids=["stripe-not-an-object", "stripe-fractional-amount", "adyen-bad-date", "braintree-bad-amount"],
)
async def test_every_provider_quarantines_authentic_bodies_its_model_refuses(
    client: Client,
    reader: TopicReader,
    build: Callable[[], SignedRequest],
    provider: Provider,
    field: str,
    code: str,
) -> None:
    request = build()
    response = await send(client, request)
    assert response.status_code == 200, response.text
    records = await reader.new_records()
    assert len(quarantined(records)) == 1 and len(records) == 1
    kept = QuarantinedWebhook.model_validate_json(records[0].value)
    assert kept.provider is provider
    assert_stored_body(kept, request)
    assert [(reason.field, reason.code) for reason in kept.reasons] == [(field, code)]


def square_unfit() -> SignedRequest:
    event = square_event()
    event["data"]["object"]["payment"]["status"] = "REAUTHORIZING"
    return square_request(event)


def assert_stored_body(kept: QuarantinedWebhook, request: SignedRequest) -> None:
    """Stripe's and Square's bodies are stored byte for byte; Adyen's and Braintree's hold the same
    content without their signatures."""
    stored = kept.body()
    if kept.provider in (Provider.ADYEN, Provider.BRAINTREE):
        assert b"hmacSignature" not in stored and b"bt_signature" not in stored
    assert content_without_signatures(kept.provider, stored) == content_without_signatures(kept.provider, request.body)


def signature_material(provider: Provider, request: SignedRequest) -> list[str]:
    """The signature values the request carries, read from the request as the sample built it."""
    if provider is Provider.STRIPE:
        parts = request.headers["stripe-signature"].split(",")
        return [part.removeprefix("v1=") for part in parts if part.startswith("v1=")]
    if provider is Provider.SQUARE:
        return [request.headers["x-square-hmacsha256-signature"]]
    if provider is Provider.ADYEN:
        items = json.loads(request.body)["notificationItems"]
        return [item["NotificationRequestItem"]["additionalData"]["hmacSignature"] for item in items]
    (signature,) = parse_qs(request.body.decode())["bt_signature"]
    return [signature, *(pair.split("|")[1] for pair in signature.split("&"))]


UNFIT_REQUESTS: list[tuple[Provider, Callable[[], SignedRequest]]] = [
    (Provider.STRIPE, lambda: stripe_request(stripe_event(status=NEW_STATUS))),
    (Provider.SQUARE, square_unfit),
    (Provider.ADYEN, lambda: adyen_request([adyen_item(eventDate="yesterday"), adyen_item()])),
    (Provider.BRAINTREE, lambda: braintree_request(xml=braintree_xml().replace("<amount>10.00", "<amount>ten"))),
]


@pytest.mark.parametrize(("provider", "build"), UNFIT_REQUESTS, ids=[p.value for p, _ in UNFIT_REQUESTS])
async def test_quarantine_stores_no_signature_material(
    client: Client, reader: TopicReader, broker: KafkaServer, provider: Provider, build: Callable[[], SignedRequest]
) -> None:
    request = build()
    secrets = signature_material(provider, request)
    assert secrets and all(len(secret) >= 40 for secret in secrets)  # the values, not a shape

    response = await send(client, request)

    assert response.status_code == 200, response.text
    (record,) = quarantined(await reader.new_records())
    kept = QuarantinedWebhook.model_validate_json(record.value)
    assert_stored_body(kept, request)
    stored = kept.body()
    for secret in secrets:
        assert secret.encode() not in record.value
        assert secret.encode() not in stored
        assert secret.encode() not in record.key
    assert not {"stripe-signature", "x-square-hmacsha256-signature"} & {name.lower() for name in kept.headers}
    assert b"hmacSignature" not in stored and b"bt_signature" not in stored

    # The redrive re-validates the stored body: it is refused for the same reasons as on receipt.
    report = await redrive(broker.bootstrap_servers, providers=[provider])
    (mine,) = (e for e in report.still_quarantined if e["quarantine_id"] == str(kept.quarantine_id))
    assert [".".join(map(str, reason["loc"])) for reason in mine["reasons"]] == [r.field for r in kept.reasons]


VALID_REQUESTS: list[tuple[Provider, Callable[[], SignedRequest]]] = [
    (Provider.STRIPE, lambda: stripe_request()),
    (Provider.SQUARE, lambda: square_request()),
    (Provider.ADYEN, lambda: adyen_request([adyen_item(), adyen_item(eventCode="CAPTURE")])),
    (Provider.BRAINTREE, lambda: braintree_request()),
]


@pytest.mark.parametrize(("provider", "build"), VALID_REQUESTS, ids=[p.value for p, _ in VALID_REQUESTS])
def test_body_without_signatures_decodes_to_the_same_messages(
    provider: Provider, build: Callable[[], SignedRequest]
) -> None:
    """What the redrive does with a stored body once the contract accepts it: the same events, keys
    and payloads as the signed body gave on receipt."""
    request = build()
    delivery = Delivery.at_now(request.body, request.headers)
    received = Intake(make_settings()).receive(provider, delivery)
    assert isinstance(received, Accepted)
    stored = without_signatures(provider, request.body)
    for secret in signature_material(provider, request):
        assert secret.encode() not in stored
    key_ids = tuple(envelope.signature_key_id or "" for envelope in received.envelopes)
    redriven = Decoder().decode(provider, Delivery(stored, {}, delivery.received_at, delivery.now), key_ids)
    assert [m.key for m in redriven.messages()] == [event_id.encode() for event_id in request.event_ids]
    assert redriven.payloads == received.payloads


FORBIDDEN_HEADERS = {
    "x-forwarded-for": "203.0.113.7, 10.0.0.1",
    "forwarded": "for=203.0.113.7;proto=https",
    "cf-connecting-ip": "203.0.113.7",
    "x-real-ip": "203.0.113.7",
    "x-internal-token": "tok_live_do_not_store",
    "authorization": "Bearer do-not-store",
    "cookie": "session=do-not-store",
}


@pytest.mark.parametrize(
    ("provider", "build", "provider_headers"),
    [
        (Provider.STRIPE, lambda: stripe_request(stripe_event(status=NEW_STATUS)), {}),
        (Provider.SQUARE, square_unfit, {"square-version": "2024-04-17", "square-retry-number": "2"}),
        (Provider.ADYEN, lambda: adyen_request([adyen_item(eventDate="yesterday")]), {}),
        (
            Provider.BRAINTREE,
            lambda: braintree_request(xml=braintree_xml().replace("<amount>10.00", "<amount>ten")),
            {},
        ),
    ],
    ids=["stripe", "square", "adyen", "braintree"],
)
async def test_quarantine_keeps_only_allowed_headers(
    client: Client,
    reader: TopicReader,
    provider: Provider,
    build: Callable[[], SignedRequest],
    provider_headers: dict[str, str],
) -> None:
    request = build()
    headers = {**request.headers, "user-agent": "Provider-Webhooks/1.0", **provider_headers, **FORBIDDEN_HEADERS}

    response = await client.post(request.path, content=request.body, headers=headers)

    assert response.status_code == 200, response.text
    (record,) = quarantined(await reader.new_records())
    kept = QuarantinedWebhook.model_validate_json(record.value)
    assert kept.provider is provider
    assert kept.headers == {
        "content-type": request.headers["content-type"],
        "user-agent": "Provider-Webhooks/1.0",
        **provider_headers,
    }
    for value in FORBIDDEN_HEADERS.values():
        assert value.encode() not in record.value
