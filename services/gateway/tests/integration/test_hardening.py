"""Found by sending requests signed with the providers' own SDKs and by a bad-input probe (issue 18,
item 8): SDK samples without `<created-at>`, clients that go away mid-body, numbers no float can
hold, and Braintree notifications that share kind, subject and second."""

from __future__ import annotations

import base64
import json
import math
from typing import Any
from urllib.parse import urlencode

import braintree as braintree_sdk  # type: ignore[import-untyped]
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from webhook_samples import (
    ADYEN_KEY_HEX,
    BRAINTREE_PRIVATE,
    BRAINTREE_PUBLIC,
    SignedRequest,
    adyen_item,
    adyen_notification,
    adyen_sign,
    braintree_payload,
    braintree_signature,
    stripe_event,
    stripe_request,
)

from contracts.reference.providers import Provider
from contracts.schemas.payment_event import BraintreeEnvelope, parse_payment_event
from contracts.schemas.quarantine import QuarantinedWebhook
from contracts.topics import QUARANTINE, webhook_topic
from gateway.asgi import create_app
from gateway.redrive import redrive
from gateway.settings import GatewaySettings
from integration.kafka_reader import TopicReader
from testing.kafka import KafkaServer

pytestmark = pytest.mark.anyio

Client = AsyncTestClient[Litestar]


async def send(client: Client, request: SignedRequest) -> Any:
    return await client.post(request.path, content=request.body, headers=request.headers)


def strict_json(data: bytes) -> Any:
    """RFC 8259 JSON whose numbers are all finite doubles: no `NaN`/`Infinity`, no `1e999`."""

    def refuse(token: str) -> Any:
        raise ValueError(f"not JSON: {token}")

    def finite(text: str) -> float:
        value = float(text)
        if not math.isfinite(value):
            raise ValueError(f"not a finite number: {text}")
        return value

    return json.loads(data, parse_constant=refuse, parse_float=finite)


def form_request(bt_signature: str, bt_payload: str) -> SignedRequest:
    body = urlencode({"bt_signature": bt_signature, "bt_payload": bt_payload}).encode()
    return SignedRequest("/webhooks/braintree", body, {"content-type": "application/x-www-form-urlencoded"})


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


# -- Braintree SDK samples without <created-at> --------------------------------------------------
@pytest.mark.parametrize(
    "kind",
    [
        braintree_sdk.WebhookNotification.Kind.TransactionSettled,
        braintree_sdk.WebhookNotification.Kind.TransactionSettlementDeclined,
    ],
)
async def test_braintree_sdk_samples_without_created_at_are_accepted(
    client: Client, reader: TopicReader, kind: str
) -> None:
    config = braintree_sdk.Configuration(
        braintree_sdk.Environment.Sandbox,
        merchant_id="merchant",
        public_key=BRAINTREE_PUBLIC,
        private_key=BRAINTREE_PRIVATE,
    )
    sample = braintree_sdk.BraintreeGateway(config).webhook_testing.sample_notification(kind, "txn_sdk_1")
    signature, payload = (_text(sample["bt_signature"]), _text(sample["bt_payload"]))
    assert b"created-at" not in base64.decodebytes(payload.encode())  # the point of the test

    response = await send(client, form_request(signature, payload))

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "accepted"
    records = await reader.new_records()
    assert [record.topic for record in records] == [webhook_topic(Provider.BRAINTREE).name]
    envelope = parse_payment_event(records[0].value)
    assert isinstance(envelope, BraintreeEnvelope)
    assert envelope.payload.subject.transaction is not None
    assert (envelope.payload.subject.transaction.id, envelope.payload.subject.transaction.created_at) == (
        "txn_sdk_1",
        None,
    )


# -- clients that go away mid-body ------------------------------------------------------------
async def test_client_disconnect_mid_body_is_a_client_error_without_traceback(
    kafka_settings: GatewaySettings, capsys: pytest.CaptureFixture[str]
) -> None:
    """What uvicorn hands the app when a client disconnects mid-body, and also when it sends a
    malformed chunked body (the HTTP parser fails and the server drops the connection): part of
    the body, then `http.disconnect`."""
    app = create_app(kafka_settings.model_copy(update={"log_level": "INFO"}))
    request = stripe_request()
    incoming: list[dict[str, Any]] = [
        {"type": "http.request", "body": request.body[:20], "more_body": True},
        {"type": "http.disconnect"},
    ]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return incoming.pop(0) if incoming else {"type": "http.disconnect"}

    async def send_(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": request.path,
        "raw_path": request.path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(name.encode(), value.encode()) for name, value in request.headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }
    await app(scope, receive, send_)  # type: ignore[arg-type]

    starts = [message for message in sent if message["type"] == "http.response.start"]
    assert [message["status"] for message in starts] == [400]
    body = b"".join(message.get("body", b"") for message in sent if message["type"] == "http.response.body")
    assert json.loads(body)["reason"] == "client_disconnected"
    logs = capsys.readouterr().out
    assert "Traceback" not in logs and "unhandled_error" not in logs and "internal_error" not in logs
    metrics = app.state.metrics.render().decode()
    assert 'gateway_webhook_requests_total{outcome="client_disconnected",provider="stripe"} 1.0' in metrics
    assert "internal_error" not in metrics


# -- numbers no float can hold -------------------------------------------------------------------
def _adyen_with_unsigned_overflow() -> SignedRequest:
    signed = adyen_sign(adyen_item(), ADYEN_KEY_HEX)
    signed["probe"] = "__OVERFLOW__"  # an extra field, not among the signed ones
    text = json.dumps(adyen_notification([signed])).replace('"__OVERFLOW__"', "1e999")
    return SignedRequest("/webhooks/adyen", text.encode(), {"content-type": "application/json"})


def _stripe_with_overflow() -> SignedRequest:
    text = json.dumps(stripe_event(extra_field="__OVERFLOW__")).replace('"__OVERFLOW__"', "1e999")
    return stripe_request(body=text.encode())


@pytest.mark.parametrize("build", [_adyen_with_unsigned_overflow, _stripe_with_overflow], ids=["adyen", "stripe"])
async def test_out_of_range_numbers_never_reach_a_topic_as_non_json(
    client: Client, reader: TopicReader, broker: KafkaServer, build: Any
) -> None:
    request = build()
    assert b"1e999" in request.body

    response = await send(client, request)

    assert response.status_code == 200, response.text
    records = await reader.new_records()
    for record in records:
        strict_json(record.value)  # raises on Infinity, NaN or 1e999
    # Authentic, but not a body any consumer can read as it is: quarantined, with the place named.
    assert [record.topic for record in records] == [QUARANTINE.name]
    reasons = strict_json(records[0].value)["reasons"]
    assert [reason["code"] for reason in reasons] == ["finite_number"]
    assert reasons[0]["field"].endswith(("NotificationRequestItem.probe", "extra_field"))
    # The stored body (Adyen's re-serialized without its signature) still holds the number as
    # `1e999`, never `Infinity`: the redrive refuses it for the same reason.
    kept = QuarantinedWebhook.model_validate_json(records[0].value)
    assert b"1e999" in kept.body() and b"Infinity" not in kept.body()
    report = await redrive(broker.bootstrap_servers, providers=[kept.provider])
    (mine,) = (entry for entry in report.still_quarantined if entry["quarantine_id"] == str(kept.quarantine_id))
    assert [reason["type"] for reason in mine["reasons"]] == ["finite_number"]


# -- Braintree event ids ------------------------------------------------------------------------
def _subscription_xml(subscription_id: str, balance: str) -> str:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<notification>
  <kind>subscription_charged_unsuccessfully</kind>
  <timestamp type="datetime">2024-05-01T10:00:00Z</timestamp>
  <subject>
    <subscription>
      <id>{subscription_id}</id>
      <balance>{balance}</balance>
      <status>Past Due</status>
    </subscription>
  </subject>
</notification>
"""


def _signed_xml(xml: str, *, wrap: int = 76) -> SignedRequest:
    encoded = base64.b64encode(xml.encode()).decode()
    payload = "".join(encoded[i : i + wrap] + "\n" for i in range(0, len(encoded), wrap))
    return form_request(braintree_signature(payload, [(BRAINTREE_PUBLIC, BRAINTREE_PRIVATE)]), payload)


async def test_braintree_notifications_of_the_same_kind_and_second_keep_distinct_ids(
    client: Client, reader: TopicReader
) -> None:
    first = _signed_xml(_subscription_xml("sub_a1", "10.00"))
    second = _signed_xml(_subscription_xml("sub_b2", "10.00"))
    assert braintree_payload(_subscription_xml("sub_a1", "10.00")) != braintree_payload(
        _subscription_xml("sub_b2", "10.00")
    )
    for request in (first, second):
        assert (await send(client, request)).status_code == 200
    keys = [record.key for record in await reader.new_records()]
    assert len(keys) == 2
    assert keys[0] != keys[1]
    assert all(key.startswith(b"subscription_charged_unsuccessfully:none:2024-05-01T10:00:00+00:00:") for key in keys)


async def test_a_redelivered_braintree_notification_keeps_its_id(client: Client, reader: TopicReader) -> None:
    xml = _subscription_xml("sub_c3", "25.00")
    deliveries = [_signed_xml(xml), _signed_xml(xml), _signed_xml(xml, wrap=60)]
    for request in deliveries:
        assert (await send(client, request)).status_code == 200
    keys = {record.key for record in await reader.new_records()}
    assert len(keys) == 1
