"""HTTP routes: thin handlers that read the raw request and hand it to the webhook service.

Handlers raise `GatewayError`s; the one exception handler in `gateway.asgi` answers them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from litestar import Controller, Request, post
from litestar.di import NamedDependency
from litestar.enums import MediaType
from litestar.openapi.datastructures import ResponseSpec
from service_kit import ProblemDetails

from contracts.reference.providers import Provider
from contracts.schemas.quarantine import QuarantinedWebhook
from gateway.intake import Accepted
from gateway.webhooks import WebhookService

ADYEN_ACCEPTED = "[accepted]"
"""Adyen marks a notification delivered only on this exact body."""


@dataclass(frozen=True, slots=True)
class Acknowledgement:
    """What a provider gets once every envelope of its webhook is on Kafka."""

    status: str
    envelope_ids: list[UUID]


@dataclass(frozen=True, slots=True)
class Quarantine:
    """What a provider gets for an authentic body our contract refused, once it is on the
    quarantine topic: a 2xx, so that it stops retrying what a redrive will deliver."""

    status: str
    quarantine_id: UUID


def _refusals(*codes: int) -> dict[int, ResponseSpec]:
    descriptions = {
        400: "Malformed body (not JSON / form / base64 / XML)",
        401: "Signature missing, malformed, wrong, or timestamp outside the tolerance",
        413: "Body larger than GATEWAY_MAX_BODY_BYTES",
        415: "Wrong content type",
        422: "Adyen body whose items cannot be found, so not verified (an authentic body that our contract refuses is quarantined: 200 `quarantined`)",
        503: "Kafka unavailable: retry after the Retry-After header",
    }
    return {
        code: ResponseSpec(data_container=ProblemDetails, description=descriptions[code], generate_examples=False)
        for code in codes
    }


REFUSALS = _refusals(400, 401, 413, 415, 422, 503)
"""Every refusal is problem details (`service_kit.ProblemDetails`) with a machine-readable `reason`."""


def _answer(result: Accepted | QuarantinedWebhook) -> Acknowledgement | Quarantine:
    if isinstance(result, QuarantinedWebhook):
        return Quarantine(status="quarantined", quarantine_id=result.quarantine_id)
    return Acknowledgement(status="accepted", envelope_ids=[envelope.envelope_id for envelope in result.envelopes])


class WebhookController(Controller):
    """`POST /webhooks/<provider>`: 200 only after Kafka acknowledged the event."""

    path = "/webhooks"
    tags = ["webhooks"]

    @post(
        "/stripe",
        operation_id="receiveStripeWebhook",
        summary="Stripe webhook (Stripe-Signature, HMAC-SHA256 over `t.body`)",
        status_code=200,
        responses=REFUSALS,
        opt={"provider": Provider.STRIPE},
    )
    async def stripe(
        self, request: Request[Any, Any, Any], webhooks: NamedDependency[WebhookService]
    ) -> Acknowledgement | Quarantine:
        return _answer(await webhooks.receive(Provider.STRIPE, await request.body(), request.headers))

    @post(
        "/square",
        operation_id="receiveSquareWebhook",
        summary="Square webhook (x-square-hmacsha256-signature over notification URL + body)",
        status_code=200,
        responses=REFUSALS,
        opt={"provider": Provider.SQUARE},
    )
    async def square(
        self, request: Request[Any, Any, Any], webhooks: NamedDependency[WebhookService]
    ) -> Acknowledgement | Quarantine:
        return _answer(await webhooks.receive(Provider.SQUARE, await request.body(), request.headers))

    @post(
        "/adyen",
        operation_id="receiveAdyenWebhook",
        summary="Adyen standard notification (per-item hmacSignature); answers `[accepted]`",
        status_code=200,
        responses=REFUSALS,
        media_type=MediaType.TEXT,
        opt={"provider": Provider.ADYEN},
    )
    async def adyen(self, request: Request[Any, Any, Any], webhooks: NamedDependency[WebhookService]) -> str:
        # Adyen marks a notification delivered only on `[accepted]`: a quarantined one gets it too.
        await webhooks.receive(Provider.ADYEN, await request.body(), request.headers)
        return ADYEN_ACCEPTED

    @post(
        "/braintree",
        operation_id="receiveBraintreeWebhook",
        summary="Braintree webhook (form fields bt_signature / bt_payload)",
        status_code=200,
        responses=REFUSALS,
        opt={"provider": Provider.BRAINTREE},
    )
    async def braintree(
        self, request: Request[Any, Any, Any], webhooks: NamedDependency[WebhookService]
    ) -> Acknowledgement | Quarantine:
        return _answer(await webhooks.receive(Provider.BRAINTREE, await request.body(), request.headers))
