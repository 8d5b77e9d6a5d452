"""Quarantined webhooks: authentic, correctly signed provider bodies that our provider models
refused, kept (on `webhooks.quarantine.v1`) so that they can be re-driven once the contract accepts
them, instead of being refused until the provider stops retrying.

Only requests whose signature verified are quarantined; unsigned or wrongly signed ones are refused
and stored nowhere. The record holds the body (base64) without any signature (those without a
timestamp could be replayed) and an allow-list of the request's headers: signatures and
credentials are never kept.
"""

import base64
from typing import Annotated
from uuid import UUID

from pydantic import Field

from contracts.reference.providers import Provider
from contracts.schemas.base import ContractModel, UtcDatetime
from contracts.schemas.dlq import RejectReason

MAX_REASONS = 20


class QuarantinedWebhook(ContractModel):
    contract_name = "quarantined_webhook"

    quarantine_id: UUID
    provider: Provider
    received_at: UtcDatetime
    content_type: str
    """The request's `Content-Type` header as sent."""
    headers: dict[str, str]
    """Non-secret request headers (lower-case names): never signatures, credentials or cookies."""
    body_base64: str
    """The verified request body, base64-encoded (standard alphabet): as received for Stripe and
    Square (signed in headers); without the signatures it carried for Adyen (each item's
    `additionalData.hmacSignature`, re-serialized) and Braintree (the `bt_signature` field)."""
    signature_key_ids: tuple[str, ...] = ()
    """Which configured key verified the body (one per Adyen item), so a redrive can label its
    envelopes as the original delivery would have been."""
    reasons: Annotated[tuple[RejectReason, ...], Field(min_length=1, max_length=MAX_REASONS)]
    """Why the provider's contract model refused it: field, rule, message; never input values."""

    def body(self) -> bytes:
        return base64.b64decode(self.body_base64, validate=True)
