"""Signed webhook requests exactly as each provider sends them, and test settings that trust them.

The signing code here is written from the providers' documentation, independently of
`gateway.signatures`; tests/signatures/ cross-checks both against the official SDKs.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlencode

from contracts.reference.providers import Provider
from gateway.settings import GatewaySettings, load_settings

STRIPE_SECRET = "whsec_test_current_0123456789abcdef"
STRIPE_OLD_SECRET = "whsec_test_previous_fedcba9876543210"
SQUARE_SECRET = "sq-signature-key-current-Qm9vBAR="
SQUARE_OLD_SECRET = "sq-signature-key-previous-Zm9vYmF="
SQUARE_URL = "https://gateway.example.com/webhooks/square"
ADYEN_KEY_HEX = "44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056"
ADYEN_OLD_KEY_HEX = "0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF"
BRAINTREE_PUBLIC = "bt_public_current"
BRAINTREE_PRIVATE = "bt_private_current_4f2a"
BRAINTREE_OLD_PUBLIC = "bt_public_previous"
BRAINTREE_OLD_PRIVATE = "bt_private_previous_9c1d"

ALL_SECRETS: tuple[str, ...] = (
    STRIPE_SECRET,
    STRIPE_OLD_SECRET,
    SQUARE_SECRET,
    SQUARE_OLD_SECRET,
    ADYEN_KEY_HEX,
    ADYEN_OLD_KEY_HEX,
    BRAINTREE_PRIVATE,
    BRAINTREE_OLD_PRIVATE,
)


def settings_env(**overrides: str) -> dict[str, str]:
    """`GATEWAY_*` variables for a gateway that trusts the secrets above (current, then old)."""
    env = {
        "GATEWAY_STRIPE_WEBHOOK_SECRETS": f"current:{STRIPE_SECRET},previous:{STRIPE_OLD_SECRET}",
        "GATEWAY_SQUARE_WEBHOOK_SECRETS": f"{SQUARE_SECRET},{SQUARE_OLD_SECRET}",
        "GATEWAY_SQUARE_NOTIFICATION_URL": SQUARE_URL,
        "GATEWAY_ADYEN_WEBHOOK_SECRETS": f"{ADYEN_KEY_HEX},previous:{ADYEN_OLD_KEY_HEX}",
        "GATEWAY_BRAINTREE_WEBHOOK_SECRETS": (
            f"{BRAINTREE_PUBLIC}:{BRAINTREE_PRIVATE},{BRAINTREE_OLD_PUBLIC}:{BRAINTREE_OLD_PRIVATE}"
        ),
        "GATEWAY_KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9092",  # integration tests point it at their broker
        "GATEWAY_PUBLISH_TIMEOUT_SECONDS": "3",
        "GATEWAY_RETRY_AFTER_SECONDS": "7",
        # Refusals are logged at INFO; thousands of fuzzed requests need not be.
        "GATEWAY_LOG_LEVEL": "WARNING",
    }
    env.update(overrides)
    return env


def make_settings(**overrides: str) -> GatewaySettings:
    env = settings_env(**overrides)
    return load_settings(**{name.removeprefix("GATEWAY_").lower(): value for name, value in env.items()})


@dataclass
class SignedRequest:
    path: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    event_ids: list[str] = field(default_factory=list)
    """Provider event ids the gateway must publish (Kafka keys)."""


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:20]}"


# -- Stripe ------------------------------------------------------------------------------------
def stripe_event(event_id: str | None = None, **intent: Any) -> dict[str, Any]:
    obj = {
        "id": unique("pi_"),
        "object": "payment_intent",
        "amount": 2599,
        "amount_received": 2599,
        "currency": "eur",
        "status": "succeeded",
        "created": 1_700_000_000,
        "customer": "cus_Nx1",
        "payment_method": "pm_1",
        "metadata": {"merchant_id": "m_1"},
    } | intent
    return {
        "id": event_id or unique("evt_"),
        "object": "event",
        "api_version": "2024-06-20",
        "created": 1_700_000_001,
        "livemode": False,
        "pending_webhooks": 1,
        "type": "payment_intent.succeeded",
        "data": {"object": obj},
    }


def stripe_header(body: bytes, secrets: list[str], timestamp: int | None = None) -> str:
    t = int(time.time()) if timestamp is None else timestamp
    signed = f"{t}.".encode() + body
    v1 = [hmac.new(s.encode(), signed, hashlib.sha256).hexdigest() for s in secrets]
    return ",".join([f"t={t}", *(f"v1={sig}" for sig in v1)])


def stripe_request(
    event: dict[str, Any] | None = None,
    *,
    secrets: list[str] | None = None,
    timestamp: int | None = None,
    body: bytes | None = None,
) -> SignedRequest:
    event = event if event is not None else stripe_event()
    raw = body if body is not None else json.dumps(event, separators=(",", ":")).encode()
    header = stripe_header(raw, secrets or [STRIPE_SECRET], timestamp)
    return SignedRequest(
        "/webhooks/stripe",
        raw,
        {"content-type": "application/json; charset=utf-8", "stripe-signature": header},
        [event["id"]],
    )


# -- Square ------------------------------------------------------------------------------------
def square_event(event_id: str | None = None) -> dict[str, Any]:
    payment_id = unique("sqpay")
    return {
        "merchant_id": "MLB4GQYCZ9F2R",
        "type": "payment.updated",
        "event_id": event_id or str(uuid.uuid4()),
        "created_at": "2024-05-01T10:00:01.000Z",
        "data": {
            "type": "payment",
            "id": payment_id,
            "object": {
                "payment": {
                    "id": payment_id,
                    "created_at": "2024-05-01T10:00:00.000Z",
                    "updated_at": "2024-05-01T10:00:01.000Z",
                    "amount_money": {"amount": 1500, "currency": "USD"},
                    "status": "COMPLETED",
                    "source_type": "CARD",
                    "card_details": {
                        "status": "CAPTURED",
                        "card": {"card_brand": "VISA", "last_4": "1111", "exp_month": 11, "exp_year": 2030},
                    },
                    "location_id": "L1",
                    "version": 3,
                }
            },
        },
    }


def square_signature(body: bytes, secret: str, url: str = SQUARE_URL) -> str:
    digest = hmac.new(secret.encode(), url.encode() + body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def square_request(
    event: dict[str, Any] | None = None, *, secret: str = SQUARE_SECRET, url: str = SQUARE_URL
) -> SignedRequest:
    event = event if event is not None else square_event()
    raw = json.dumps(event).encode()
    return SignedRequest(
        "/webhooks/square",
        raw,
        {"content-type": "application/json", "x-square-hmacsha256-signature": square_signature(raw, secret, url)},
        [event["event_id"]],
    )


# -- Adyen -------------------------------------------------------------------------------------
def adyen_item(psp_reference: str | None = None, **fields: Any) -> dict[str, Any]:
    return {
        "additionalData": {"authCode": "058158", "cardSummary": "1111"},
        "amount": {"currency": "EUR", "value": 1130},
        "eventCode": "AUTHORISATION",
        "eventDate": "2024-05-01T10:00:00+02:00",
        "merchantAccountCode": "PaymentsPlatformECOM",
        "merchantReference": f"order:{uuid.uuid4().hex[:8]}",
        "paymentMethod": "visa",
        "pspReference": psp_reference or uuid.uuid4().hex[:16].upper(),
        "reason": "058158:1111:03/2030",
        "success": "true",
    } | fields


def adyen_signing_string(item: dict[str, Any]) -> str:
    """Adyen's documented order; an absent (or null) field contributes an empty string."""
    amount = item.get("amount") or {}
    parts = [
        item.get("pspReference"),
        item.get("originalReference"),
        item.get("merchantAccountCode"),
        item.get("merchantReference"),
        amount.get("value"),
        amount.get("currency"),
        item.get("eventCode"),
        item.get("success"),
    ]
    return ":".join("" if part is None else str(part) for part in parts)


def adyen_sign(item: dict[str, Any], key_hex: str = ADYEN_KEY_HEX) -> dict[str, Any]:
    digest = hmac.new(bytes.fromhex(key_hex), adyen_signing_string(item).encode(), hashlib.sha256).digest()
    signed: dict[str, Any] = json.loads(json.dumps(item))
    if not isinstance(signed.get("additionalData"), dict):
        signed["additionalData"] = {}
    signed["additionalData"]["hmacSignature"] = base64.b64encode(digest).decode()
    return signed


def adyen_notification(items: list[dict[str, Any]], live: str = "false") -> dict[str, Any]:
    return {"live": live, "notificationItems": [{"NotificationRequestItem": item} for item in items]}


def adyen_request(items: list[dict[str, Any]] | None = None, key_hex: str = ADYEN_KEY_HEX) -> SignedRequest:
    items = items if items is not None else [adyen_item()]
    signed = [adyen_sign(item, key_hex) for item in items]
    body = json.dumps(adyen_notification(signed)).encode()
    ids = [f"{i['pspReference']}:{i['eventCode']}:{i['success']}" for i in items]
    return SignedRequest("/webhooks/adyen", body, {"content-type": "application/json"}, ids)


# -- Braintree ---------------------------------------------------------------------------------
def braintree_xml(transaction_id: str | None = None, kind: str = "transaction_settled") -> str:
    tid = transaction_id or uuid.uuid4().hex[:8]
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<notification>
  <timestamp type="datetime">2024-05-01T10:00:00Z</timestamp>
  <kind>{kind}</kind>
  <subject>
    <transaction>
      <id>{tid}</id>
      <type>sale</type>
      <amount>10.00</amount>
      <currency-iso-code>USD</currency-iso-code>
      <status>settled</status>
      <customer-id nil="true"/>
      <merchant-account-id>platform_usd</merchant-account-id>
      <order-id>order-1</order-id>
      <processor-response-code>1000</processor-response-code>
      <credit-card>
        <bin>411111</bin>
        <last-4>1111</last-4>
        <card-type>Visa</card-type>
        <expiration-month>12</expiration-month>
        <expiration-year>2030</expiration-year>
      </credit-card>
      <custom-fields><channel>web</channel></custom-fields>
      <add-ons type="array"/>
      <discounts type="array">
        <discount><id>d1</id><amount>1.00</amount></discount>
        <discount><id>d2</id><amount>2.00</amount></discount>
      </discounts>
      <created-at type="datetime">2024-05-01T09:59:00Z</created-at>
      <updated-at type="datetime">2024-05-01T10:00:00Z</updated-at>
      <risk-data><decision>Approve</decision><id>r1</id></risk-data>
      <recurring type="boolean">false</recurring>
      <installment-count type="integer">3</installment-count>
    </transaction>
  </subject>
</notification>
"""


def braintree_payload(xml: str) -> str:
    """base64 with a newline every 76 characters and at the end, as Braintree's encoder writes it."""
    return base64.encodebytes(xml.encode()).decode()


def braintree_signature(payload: str, pairs: list[tuple[str, str]]) -> str:
    parts = []
    for public_key, private_key in pairs:
        key = hashlib.sha1(private_key.encode()).digest()  # noqa: S324  # Braintree's scheme
        parts.append(f"{public_key}|{hmac.new(key, payload.encode(), hashlib.sha1).hexdigest()}")
    return "&".join(parts)


def braintree_request(
    xml: str | None = None, *, pairs: list[tuple[str, str]] | None = None, transaction_id: str | None = None
) -> SignedRequest:
    tid = transaction_id or uuid.uuid4().hex[:8]
    xml = xml if xml is not None else braintree_xml(tid)
    payload = braintree_payload(xml)
    signature = braintree_signature(payload, pairs or [(BRAINTREE_PUBLIC, BRAINTREE_PRIVATE)])
    body = urlencode({"bt_signature": signature, "bt_payload": payload}).encode()
    return SignedRequest(
        "/webhooks/braintree",
        body,
        {"content-type": "application/x-www-form-urlencoded"},
        braintree_event_ids(xml),
    )


def braintree_event_ids(xml: str) -> list[str]:
    """The contract's id for a notification (kind, subject id, timestamp and a digest of its
    content), read with the Braintree SDK's own XML parser rather than the gateway's; none for
    a notification that the SDK or the contract cannot read (the refusal and quarantine cases)."""
    from xml.parsers.expat import ExpatError

    from braintree.util.xml_util import XmlUtil  # type: ignore[import-untyped]
    from pydantic import ValidationError

    from contracts.schemas.providers.braintree import BraintreeNotification

    def as_utc(node: Any) -> Any:  # the SDK reads Braintree's `...Z` times as naive UTC datetimes
        if isinstance(node, dict):
            return {key: as_utc(value) for key, value in node.items()}
        if isinstance(node, list):
            return [as_utc(value) for value in node]
        return node.replace(tzinfo=UTC) if isinstance(node, datetime) and node.tzinfo is None else node

    try:
        tree = as_utc(XmlUtil.dict_from_xml(xml.encode()))
        return [BraintreeNotification.model_validate(tree["notification"]).provider_event_id()]
    except (ExpatError, ValidationError, KeyError, TypeError):
        return []


def content_without_signatures(provider: Provider, body: bytes) -> Any:
    """What a quarantine record must keep of a signed body, in a comparable form: Stripe's and
    Square's bytes as they are; Adyen's JSON without any item's `additionalData.hmacSignature`;
    Braintree's form fields without `bt_signature`."""
    if provider is Provider.ADYEN:
        document = json.loads(body)
        for wrapper in document["notificationItems"]:
            wrapper["NotificationRequestItem"]["additionalData"].pop("hmacSignature", None)
        return document
    if provider is Provider.BRAINTREE:
        form = parse_qs(body.decode(), keep_blank_values=True)
        form.pop("bt_signature", None)
        return form
    return body
