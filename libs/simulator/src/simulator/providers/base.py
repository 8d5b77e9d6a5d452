"""What every provider adapter shares: the request it produces, faults, metadata, times.

An adapter renders a `SimEvent` in two steps. `render` builds the provider's payload (and, for
Adyen, whose signature sits inside the body, signs it); `finish` signs what must be signed at
delivery time and returns the exact HTTP request. The split exists because a Stripe signature
carries a timestamp that a live gateway checks against its clock: in file mode it is the
simulated delivery time (reproducible), in sending mode the wall clock.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol

from contracts.reference.providers import Provider
from contracts.schemas.normalized_event import METADATA_KEYS
from simulator.ids import IdFactory
from simulator.model import SimEvent
from simulator.secrets import WebhookSecrets


class Fault(StrEnum):
    """Deliberate defects for negative testing; `NONE` for the genuine traffic."""

    NONE = "none"
    WRONG_SECRET = "wrong_secret"  # noqa: S105 (a fault label, not a secret)
    """Signed with a secret the receiver does not have."""
    TAMPERED_BODY = "tampered_body"
    """Signed, then the body was changed (an amount): the signature no longer matches."""
    MISSING_SIGNATURE = "missing_signature"
    """No signature header (Adyen: no `hmacSignature`; Braintree: no `bt_signature`)."""
    MISSING_FIELD = "missing_field"
    """Correctly signed, but a field the provider always sends is missing."""
    INVALID_VALUE = "invalid_value"
    """Correctly signed, but a value is impossible (an unknown currency)."""
    UNPARSABLE_BODY = "unparsable_body"
    """Correctly signed, but the body is cut short and does not parse."""
    DUPLICATE = "duplicate"
    """A re-delivery of an event already delivered: same ids and payload, signed again later.
    Not a defect of the request: the receiver must accept it (and dedupe must drop it)."""


BAD_SIGNATURE_FAULTS: tuple[Fault, ...] = (Fault.WRONG_SECRET, Fault.TAMPERED_BODY, Fault.MISSING_SIGNATURE)
MALFORMED_FAULTS: tuple[Fault, ...] = (Fault.MISSING_FIELD, Fault.INVALID_VALUE, Fault.UNPARSABLE_BODY)
ACCEPTABLE_FAULTS: tuple[Fault, ...] = (Fault.NONE, Fault.DUPLICATE)
QUARANTINABLE_FAULTS: tuple[Fault, ...] = (Fault.MISSING_FIELD, Fault.INVALID_VALUE)
"""Correctly signed bodies that the contract refuses: authentic, so the gateway keeps them whole in
its quarantine and answers 2xx (they are neither accepted events nor refusals)."""
"""What a correct receiver answers 2xx: genuine requests and re-deliveries of them."""


@dataclass(frozen=True, slots=True)
class Rendered:
    """A provider payload before delivery-time signing."""

    provider: Provider
    event_type: str
    """The provider's own name for the event (Stripe `type`, Adyen `eventCode`, Braintree `kind`)."""
    provider_event_id: str
    """The id the contracts model derives for this event (`provider_event_id()`)."""
    delivered_at: int
    """Simulated instant the provider sends it."""
    payload: bytes
    """Stripe/Square/Adyen: the JSON body; Braintree: `bt_payload` (base64 of the XML)."""
    fault: Fault
    seq: int
    """The simulated event this renders (`SimEvent.seq`); copies with faults share it."""
    provider_payment_id: str
    """The provider's id of the payment the event concerns (Stripe PaymentIntent, Square payment,
    Adyen pspReference of the authorisation, Braintree sale transaction)."""


@dataclass(frozen=True, slots=True)
class WebhookRequest:
    """One HTTP request exactly as the provider would send it."""

    provider: Provider
    path: str
    headers: dict[str, str]
    body: bytes
    event_type: str
    provider_event_id: str
    delivered_at: int
    signed_at: int
    fault: Fault
    seq: int

    @classmethod
    def deliver(
        cls, rendered: Rendered, path: str, headers: dict[str, str], body: bytes, signed_at: int
    ) -> WebhookRequest:
        """The request that carries `rendered`, signed at `signed_at` (the one place that maps it)."""
        return cls(
            provider=rendered.provider,
            path=path,
            headers=headers,
            body=body,
            event_type=rendered.event_type,
            provider_event_id=rendered.provider_event_id,
            delivered_at=rendered.delivered_at,
            signed_at=signed_at,
            fault=rendered.fault,
            seq=rendered.seq,
        )

    @property
    def is_valid_signature(self) -> bool:
        return self.fault not in BAD_SIGNATURE_FAULTS

    @property
    def is_valid_payload(self) -> bool:
        return self.fault not in MALFORMED_FAULTS

    @property
    def is_redelivery(self) -> bool:
        return self.fault is Fault.DUPLICATE


class ProviderAdapter(Protocol):
    provider: Provider
    path: str
    faults: tuple[Fault, ...]
    """Faults this provider's format can carry."""

    def render(
        self, event: SimEvent, ids: IdFactory, secrets: WebhookSecrets, fault: Fault = Fault.NONE
    ) -> Rendered: ...

    def finish(self, rendered: Rendered, secrets: WebhookSecrets, signed_at: int) -> WebhookRequest: ...


def metadata(event: SimEvent) -> dict[str, str]:
    """The merchant's metadata for the platform, keyed exactly as `METADATA_KEYS`."""
    payment = event.payment
    values = {
        "customer_id": payment.customer_id,
        "merchant_id": payment.merchant.id,
        "device_id": payment.device_id,
        "ip_country": payment.ip_country,
        "merchant_category": payment.merchant.category.mcc,
    }
    return {key: values[key] for key in METADATA_KEYS}


def iso_z(at: int, millis: int | None = None) -> str:
    """`2025-01-06T10:00:00Z` (or with milliseconds), as Square and Braintree write times."""
    text = datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{text}.{millis:03d}Z" if millis is not None else f"{text}Z"


def iso_offset(at: int) -> str:
    """`2025-01-06T10:00:00+00:00`, as Adyen writes `eventDate`."""
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


_FIRST_AMOUNT = re.compile(rb'("amount"\s*:\s*)(\d+)')


def tamper_json_amount(body: bytes) -> bytes:
    """Raise the first `"amount"` in a JSON body by one: what an attacker would edit."""
    return _FIRST_AMOUNT.sub(lambda m: m.group(1) + str(int(m.group(2)) + 1).encode(), body, count=1)


def truncate(body: bytes) -> bytes:
    """Cut a body in the middle: a delivery that broke off, which no parser accepts."""
    return body[: max(1, len(body) // 2)]


def drop(document: dict[str, Any], *path: str) -> None:
    """Remove the field at `path` from a nested document."""
    node = document
    for key in path[:-1]:
        node = node[key]
    node.pop(path[-1], None)


def put(document: dict[str, Any], value: Any, *path: str) -> None:
    node = document
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
