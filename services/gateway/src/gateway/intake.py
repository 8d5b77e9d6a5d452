"""From a raw webhook request to contract envelopes, with no HTTP framework in sight.

Per provider: check the content type, verify the signature on the raw bytes, decode, validate
against the provider's contract model, and wrap each event in its `contracts` envelope. Anything
wrong before the signature verified raises a `GatewayError` subclass; an authentic body that the
contract model refuses comes back as `Unfit` (the service quarantines it). Decoding after
verification (`Decoder`) is separate, so that the redrive can run it again on quarantined bodies
without signatures. Nothing here publishes.
"""

from __future__ import annotations

import base64
import hashlib
import math
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode
from uuid import uuid4

import pydantic_core
from pydantic import BaseModel, ValidationError

from contracts.reference.providers import Provider
from contracts.schemas.dlq import RejectReason
from contracts.schemas.payment_event import AdyenEnvelope, BraintreeEnvelope, SquareEnvelope, StripeEnvelope
from contracts.schemas.providers.adyen import AdyenNotification, AdyenNotificationItem
from contracts.schemas.providers.braintree import BraintreeNotification
from contracts.schemas.providers.square import SquareEvent
from contracts.schemas.providers.stripe import StripeEvent
from contracts.schemas.quarantine import MAX_REASONS, QuarantinedWebhook
from contracts.topics import QUARANTINE, webhook_topic
from gateway import braintree_xml
from gateway.errors import MalformedRequestError, SchemaMismatchError, SignatureRejectedError, UnsupportedMediaTypeError
from gateway.publisher import Message
from gateway.settings import GatewaySettings, labelled_secrets
from gateway.signatures import adyen, braintree, square, stripe
from gateway.signatures.keys import SigningKey

Envelope = StripeEnvelope | SquareEnvelope | AdyenEnvelope | BraintreeEnvelope
EnvelopeT = TypeVar("EnvelopeT", StripeEnvelope, SquareEnvelope, AdyenEnvelope, BraintreeEnvelope)

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
MAX_FORM_FIELDS = 8
MAX_ADYEN_ITEMS = 100

STORED_HEADERS: Mapping[Provider, frozenset[str]] = {
    Provider.STRIPE: frozenset({"content-type", "user-agent"}),
    Provider.SQUARE: frozenset(
        {
            "content-type",
            "user-agent",
            "square-version",
            "square-environment",
            "square-initial-delivery-timestamp",
            "square-retry-number",
            "square-retry-reason",
        }
    ),
    Provider.ADYEN: frozenset({"content-type", "user-agent"}),
    Provider.BRAINTREE: frozenset({"content-type", "user-agent"}),
}
"""The only request headers a quarantine record keeps (lower-case), per provider: an allow-list,
so that client addresses (`x-forwarded-for`, `forwarded`, `cf-connecting-ip`), credentials and
any custom token header a proxy adds are never stored."""


@dataclass(frozen=True, slots=True)
class Delivery:
    """One webhook request as the HTTP layer hands it over."""

    body: bytes
    headers: Mapping[str, str]
    """Lower-case header names."""
    received_at: datetime
    now: float
    """`time.time()` at receipt, for timestamp tolerance checks."""

    @classmethod
    def at_now(cls, body: bytes, headers: Mapping[str, str], clock: Callable[[], float] = time.time) -> Delivery:
        """Received now by `clock` (wall-clock seconds; tests pass their own to skip waiting)."""
        now = clock()
        return cls(body, headers, datetime.fromtimestamp(now, UTC), now)


@dataclass(frozen=True, slots=True)
class Accepted:
    provider: Provider
    envelopes: list[Envelope]
    payloads: list[bytes]
    """Each envelope's payload as JSON: the verified provider JSON itself where there is one."""

    def messages(self) -> list[Message]:
        topic = webhook_topic(self.provider).name
        return [
            Message(topic=topic, key=envelope.provider_event_id.encode(), value=serialize(envelope, payload))
            for envelope, payload in zip(self.envelopes, self.payloads, strict=True)
        ]


@dataclass(frozen=True, slots=True)
class Unfit:
    """An authentic body (its signature verified) that the provider's contract model refused."""

    provider: Provider
    delivery: Delivery
    signature_key_ids: tuple[str, ...]
    errors: list[dict[str, Any]]
    """`{loc, type, msg}` as in `SchemaMismatchError`: never input values."""

    def record(self) -> QuarantinedWebhook:
        headers = self.delivery.headers
        return QuarantinedWebhook(
            quarantine_id=uuid4(),
            provider=self.provider,
            received_at=self.delivery.received_at,
            content_type=headers.get("content-type", ""),
            headers={
                name.lower(): value for name, value in headers.items() if name.lower() in STORED_HEADERS[self.provider]
            },
            body_base64=base64.b64encode(without_signatures(self.provider, self.delivery.body)).decode("ascii"),
            signature_key_ids=self.signature_key_ids,
            reasons=tuple(
                RejectReason(
                    field=".".join(str(part) for part in error["loc"]) or "body",
                    code=str(error["type"]),
                    message=str(error["msg"]),
                )
                for error in self.errors[:MAX_REASONS]
            ),
        )

    def message(self, record: QuarantinedWebhook) -> Message:
        """`record` on the quarantine topic, keyed by provider and the digest of the body as received
        (a redelivery of the same body lands on the same partition with the same key)."""
        digest = hashlib.sha256(self.delivery.body).hexdigest()
        value = record.__pydantic_serializer__.to_json(record)
        return Message(topic=QUARANTINE.name, key=f"{self.provider.value}:{digest}".encode(), value=value)


@dataclass(frozen=True, slots=True)
class ProviderModels:
    """The contract model each provider's body must fit. The gateway uses `contracts`' models; a
    redrive may be given others (a contract change being tried out before it is released)."""

    stripe: type[StripeEvent] = StripeEvent
    square: type[SquareEvent] = SquareEvent
    adyen: type[AdyenNotification] = AdyenNotification
    braintree: type[BraintreeNotification] = BraintreeNotification


def serialize(envelope: Envelope, payload_json: bytes | None = None) -> bytes:
    """The Kafka value: the envelope's JSON, its payload in the provider's own field names.

    `payload_json` is the payload already as JSON (for Stripe and Square the verified body, byte
    for byte): spliced in rather than re-serialized from the model, which parses it back to the
    same model and costs a fraction of the time.
    """
    if payload_json is None:
        return envelope.__pydantic_serializer__.to_json(envelope, by_alias=True, exclude_unset=True)
    head = envelope.__pydantic_serializer__.to_json(envelope, by_alias=True, exclude={"payload"})
    return b'%s,"payload":%s}' % (head[:-1], payload_json)


def media_type(headers: Mapping[str, str]) -> str:
    return headers.get("content-type", "").split(";", 1)[0].strip().lower()


def require_media_type(headers: Mapping[str, str], expected: str) -> None:
    actual = media_type(headers)
    if actual != expected:
        raise UnsupportedMediaTypeError(f"expected {expected}, got {actual or 'no content type'}")


def _keys(entries: Sequence[tuple[str, str]], decode: Callable[[str], bytes]) -> tuple[SigningKey, ...]:
    return tuple(SigningKey(key_id, decode(secret)) for key_id, secret in entries)


class Decoder:
    """Everything after the signature: decode, validate against the contract model, build the
    envelopes. Raises `SchemaMismatchError` (or `MalformedRequestError`) when that fails."""

    def __init__(self, models: ProviderModels | None = None) -> None:
        self.models = models or ProviderModels()

    def decode(self, provider: Provider, delivery: Delivery, key_ids: Sequence[str]) -> Accepted:
        if provider is Provider.STRIPE:
            return self.stripe(delivery, key_ids[0])
        if provider is Provider.SQUARE:
            return self.square(delivery, key_ids[0])
        if provider is Provider.ADYEN:
            document = _parse_json(delivery.body)
            return self.adyen(delivery, document, _adyen_items(document), key_ids)
        return self.braintree(delivery, _braintree_payload(_parse_form(delivery.body)), key_ids[0])

    def stripe(self, delivery: Delivery, key_id: str) -> Accepted:
        _require_finite_numbers(delivery.body)
        event = _validate_json(self.models.stripe, delivery.body)
        envelope = _envelope(
            StripeEnvelope,
            envelope_id=uuid4(),
            provider=Provider.STRIPE,
            provider_event_id=event.provider_event_id(),
            event_type=event.type,
            received_at=delivery.received_at,
            signature_key_id=key_id,
            payload=event,
        )
        return Accepted(Provider.STRIPE, [envelope], [delivery.body])

    def square(self, delivery: Delivery, key_id: str) -> Accepted:
        _require_finite_numbers(delivery.body)
        event = _validate_json(self.models.square, delivery.body)
        envelope = _envelope(
            SquareEnvelope,
            envelope_id=uuid4(),
            provider=Provider.SQUARE,
            provider_event_id=event.provider_event_id(),
            event_type=event.type,
            received_at=delivery.received_at,
            signature_key_id=key_id,
            payload=event,
        )
        return Accepted(Provider.SQUARE, [envelope], [delivery.body])

    def adyen(
        self, delivery: Delivery, document: Any, raw_items: list[dict[str, Any]], key_ids: Sequence[str]
    ) -> Accepted:
        for raw in raw_items:
            # A signature has no use downstream and is never stored or forwarded.
            additional = raw.get("additionalData")
            if isinstance(additional, dict):
                additional.pop(adyen.SIGNATURE_FIELD, None)
        _require_finite_numbers(delivery.body, document)
        notification = _validate(self.models.adyen, document)
        live = notification.live == "true"
        envelopes: list[Envelope] = []
        payloads = [_to_json(raw) for raw in raw_items]
        for key_id, wrapper in zip(key_ids, notification.notification_items, strict=True):
            item: AdyenNotificationItem = wrapper.item
            envelopes.append(
                _envelope(
                    AdyenEnvelope,
                    envelope_id=uuid4(),
                    provider=Provider.ADYEN,
                    provider_event_id=item.provider_event_id(),
                    event_type=item.event_code,
                    received_at=delivery.received_at,
                    signature_key_id=key_id,
                    live=live,
                    payload=item,
                )
            )
        return Accepted(Provider.ADYEN, envelopes, payloads)

    def braintree(self, delivery: Delivery, payload: bytes, key_id: str) -> Accepted:
        data = braintree_xml.parse_notification(braintree_xml.decode_payload(payload))
        notification = _validate(self.models.braintree, data, prefix=("notification",))
        envelope = _envelope(
            BraintreeEnvelope,
            envelope_id=uuid4(),
            provider=Provider.BRAINTREE,
            provider_event_id=notification.provider_event_id(),
            event_type=notification.kind,
            received_at=delivery.received_at,
            signature_key_id=key_id,
            payload=notification,
        )
        payload_json = notification.__pydantic_serializer__.to_json(notification, by_alias=True, exclude_unset=True)
        return Accepted(Provider.BRAINTREE, [envelope], [payload_json])


class Intake:
    """Verifies webhooks with the configured secrets (newest first), then decodes them."""

    def __init__(self, settings: GatewaySettings, decoder: Decoder | None = None) -> None:
        self._stripe_keys = _keys(labelled_secrets(settings.stripe_webhook_secrets), str.encode)
        self._stripe_tolerance = settings.stripe_tolerance_seconds
        self._square_keys = _keys(labelled_secrets(settings.square_webhook_secrets), str.encode)
        self._square_url = settings.square_notification_url
        self._adyen_keys = _keys(labelled_secrets(settings.adyen_webhook_secrets), bytes.fromhex)
        # Braintree: the label is the public key, the secret the private key.
        self._braintree_keys = _keys(labelled_secrets(settings.braintree_webhook_secrets), str.encode)
        self._decoder = decoder or Decoder()
        self._handlers: dict[Provider, Callable[[Delivery], Accepted | Unfit]] = {
            Provider.STRIPE: self.stripe,
            Provider.SQUARE: self.square,
            Provider.ADYEN: self.adyen,
            Provider.BRAINTREE: self.braintree,
        }

    def receive(self, provider: Provider, delivery: Delivery) -> Accepted | Unfit:
        """Raises a `GatewayError` for a request that is refused; `Unfit` for one to quarantine."""
        return self._handlers[provider](delivery)

    @staticmethod
    def _authentic(
        provider: Provider, delivery: Delivery, key_ids: tuple[str, ...], decode: Callable[[], Accepted]
    ) -> Accepted | Unfit:
        try:
            return decode()
        except SchemaMismatchError as exc:
            return Unfit(provider, delivery, key_ids, exc.errors)

    def stripe(self, delivery: Delivery) -> Accepted | Unfit:
        require_media_type(delivery.headers, JSON)
        key = stripe.verify(
            delivery.body,
            delivery.headers.get(stripe.HEADER),
            self._stripe_keys,
            now=delivery.now,
            tolerance=self._stripe_tolerance,
        )
        return self._authentic(
            Provider.STRIPE, delivery, (key.key_id,), lambda: self._decoder.stripe(delivery, key.key_id)
        )

    def square(self, delivery: Delivery) -> Accepted | Unfit:
        require_media_type(delivery.headers, JSON)
        key = square.verify(
            delivery.body,
            delivery.headers.get(square.HEADER),
            self._square_keys,
            notification_url=self._square_url,
        )
        return self._authentic(
            Provider.SQUARE, delivery, (key.key_id,), lambda: self._decoder.square(delivery, key.key_id)
        )

    def adyen(self, delivery: Delivery) -> Accepted | Unfit:
        require_media_type(delivery.headers, JSON)
        document = _parse_json(delivery.body)
        # Items that cannot be found cannot be verified: that is a refusal, not a quarantine.
        raw_items = _adyen_items(document)
        # Every item is verified before anything is trusted: one bad item refuses the batch.
        key_ids = tuple(adyen.verify_item(raw, self._adyen_keys).key_id for raw in raw_items)
        return self._authentic(
            Provider.ADYEN, delivery, key_ids, lambda: self._decoder.adyen(delivery, document, raw_items, key_ids)
        )

    def braintree(self, delivery: Delivery) -> Accepted | Unfit:
        require_media_type(delivery.headers, FORM)
        form = _parse_form(delivery.body)
        payload = _braintree_payload(form)
        braintree.check_payload_alphabet(payload)
        key = braintree.verify(payload, form.get("bt_signature"), self._braintree_keys)
        return self._authentic(
            Provider.BRAINTREE, delivery, (key.key_id,), lambda: self._decoder.braintree(delivery, payload, key.key_id)
        )


def without_signatures(provider: Provider, body: bytes) -> bytes:
    """The body to store: without the signatures it carries (Adyen's per-item `hmacSignature`,
    Braintree's `bt_signature`). Neither scheme has a timestamp, so a stored signature would let
    anyone who reads the quarantine topic replay the request. Stripe and Square sign in headers
    (never stored): their body is kept byte for byte. Only called on a body that verified, so it
    parses."""
    if provider is Provider.ADYEN:
        document = _parse_json(body)
        for raw in _adyen_items(document):
            additional = raw.get("additionalData")
            if isinstance(additional, dict):
                additional.pop(adyen.SIGNATURE_FIELD, None)
        return _to_strict_json(document)
    if provider is Provider.BRAINTREE:
        form = _parse_form(body)
        form.pop("bt_signature", None)
        return urlencode(form).encode("ascii")
    return body


def _to_strict_json(document: Any) -> bytes:
    """JSON of a parsed document; a number that parsed to infinity is written back as `1e999`
    (not `Infinity`), so the stored body still parses and is refused for the same reason."""
    marker = f"non-finite-{uuid4().hex}"
    replaced = _replace_non_finite(document, marker)
    encoded = _to_json(replaced)
    return encoded.replace(f'"+{marker}"'.encode(), b"1e999").replace(f'"-{marker}"'.encode(), b"-1e999")


def _replace_non_finite(value: Any, marker: str) -> Any:
    if isinstance(value, float) and math.isinf(value):
        return f"{'+' if value > 0 else '-'}{marker}"
    if isinstance(value, dict):
        return {key: _replace_non_finite(child, marker) for key, child in value.items()}
    if isinstance(value, list):
        return [_replace_non_finite(child, marker) for child in value]
    return value


def _braintree_payload(form: Mapping[str, str]) -> bytes:
    payload_text = form.get("bt_payload")
    if payload_text is None:
        raise MalformedRequestError("bt_payload missing")
    return payload_text.encode("utf-8")


ModelT = TypeVar("ModelT", bound=BaseModel)


def _validate_json(model: type[ModelT], body: bytes) -> ModelT:
    try:
        return model.model_validate_json(body)
    except ValidationError as exc:
        if any(error["type"] == "json_invalid" for error in exc.errors(include_url=False)):
            raise MalformedRequestError("body is not valid JSON") from None
        raise SchemaMismatchError.from_validation_error(exc) from None


def _validate(model: type[ModelT], data: Any, prefix: tuple[str | int, ...] = ()) -> ModelT:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise SchemaMismatchError.from_validation_error(exc, prefix) from None


def _envelope(model: type[EnvelopeT], **fields: Any) -> EnvelopeT:
    """Envelope fields derived from the payload (e.g. a composed event id) have their own limits."""
    try:
        return model(**fields)
    except ValidationError as exc:
        raise SchemaMismatchError.from_validation_error(exc, ("envelope",)) from None


_MAYBE_OUT_OF_RANGE = re.compile(rb"[:\[,]\s*-?(?:[0-9]+(?:\.[0-9]*)?[eE]\+?0*[1-9][0-9]{2}|[0-9]{300})")
"""A number JSON allows but a float cannot hold (`1e999`, 400 digits) needs a 3-digit exponent
or 300+ digits: a cheap test on the raw body before the full check below, which few bodies need."""


def _require_finite_numbers(body: bytes, document: Any = None) -> None:
    """Refuse (quarantine, once verified) a body with a number that parses to infinity.

    Valid JSON, but every consumer would read it as `inf`, and re-serialized it is `Infinity`,
    which is not JSON: a record on a webhook topic must parse with a strict parser.
    """
    if not _MAYBE_OUT_OF_RANGE.search(body):
        return
    location = _non_finite(_parse_json(body) if document is None else document, ())
    if location is not None:
        raise SchemaMismatchError(
            [{"loc": list(location), "type": "finite_number", "msg": "Input should be a finite number"}]
        )


def _non_finite(value: Any, loc: tuple[str | int, ...]) -> tuple[str | int, ...] | None:
    if isinstance(value, float):
        return None if math.isfinite(value) else loc
    children = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in children:
        found = _non_finite(child, (*loc, key))
        if found is not None:
            return found
    return None


def _parse_json(body: bytes) -> Any:
    """jiter, not `json`: bounded recursion depth, so hostile nesting is an error, not a crash."""
    try:
        return pydantic_core.from_json(body, allow_inf_nan=False)
    except ValueError:
        raise MalformedRequestError("body is not valid JSON") from None


def _to_json(value: Any) -> bytes:
    return pydantic_core.to_json(value)


def _adyen_items(document: Any) -> list[dict[str, Any]]:
    """The raw `NotificationRequestItem` objects, which are what Adyen signs."""
    if not isinstance(document, dict):
        raise SchemaMismatchError([{"loc": [], "type": "dict_type", "msg": "expected a JSON object"}])
    items = document.get("notificationItems")
    if not isinstance(items, list) or not items:
        raise SchemaMismatchError(
            [{"loc": ["notificationItems"], "type": "list_type", "msg": "expected a non-empty list"}]
        )
    if len(items) > MAX_ADYEN_ITEMS:
        raise SchemaMismatchError(
            [{"loc": ["notificationItems"], "type": "too_long", "msg": f"more than {MAX_ADYEN_ITEMS} items"}]
        )
    raw: list[dict[str, Any]] = []
    for index, wrapper in enumerate(items):
        item = wrapper.get("NotificationRequestItem") if isinstance(wrapper, dict) else None
        if not isinstance(item, dict):
            raise SchemaMismatchError(
                [
                    {
                        "loc": ["notificationItems", index, "NotificationRequestItem"],
                        "type": "dict_type",
                        "msg": "expected an object",
                    }
                ]
            )
        raw.append(item)
    return raw


def _parse_form(body: bytes) -> dict[str, str]:
    try:
        text = body.decode("ascii")
        fields = parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text), max_num_fields=MAX_FORM_FIELDS)
    except (UnicodeDecodeError, ValueError):
        raise MalformedRequestError("body is not an URL-encoded form") from None
    form: dict[str, str] = {}
    for name, value in fields:
        if name in form:
            raise MalformedRequestError(f"form field {name} given twice")
        form[name] = value
    return form


__all__ = [
    "Accepted",
    "Decoder",
    "Delivery",
    "Envelope",
    "Intake",
    "ProviderModels",
    "STORED_HEADERS",
    "SignatureRejectedError",
    "Unfit",
    "serialize",
    "without_signatures",
]
