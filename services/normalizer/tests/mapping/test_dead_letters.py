"""A dead letter's excerpt masks the personal data of the envelope it could not map (the source
message on the provider topic, which `redrive` reads, is not touched)."""

from __future__ import annotations

import json

import pytest

from contracts.schemas.normalized_event import SourcePosition
from mapping.golden import GOLDEN
from normalizer.dlq import dead_letter
from normalizer.mapping import MappingError, normalize

SOURCE = SourcePosition(topic="webhooks.stripe.v1", partition=2, offset=7)
BILLING = {
    "address": {"city": "San Francisco", "country": "US", "line1": "510 Townsend St", "postal_code": "94107"},
    "name": "Jenny Rosen",
    "phone": "+1 415 555 0100",
}


def _stripe_charge(event_type: str) -> bytes:
    """The golden `charge.failed` envelope with the billing details Stripe sends on a charge,
    placed first in the charge so that they fall within the excerpt's 2,048 characters."""
    document = GOLDEN["stripe.charge.failed.payment.failed"].document()
    charge = document["payload"]["data"]["object"]
    rest = {key: value for key, value in charge.items() if key != "billing_details"}  # all null in the golden
    document["payload"]["data"]["object"] = {"billing_details": BILLING, **rest}
    document["payload"]["type"] = event_type
    return json.dumps(document).encode()


def test_a_dead_letter_excerpt_masks_the_billing_details() -> None:
    value = _stripe_charge("charge.expired")  # no normalized meaning: dead-lettered
    with pytest.raises(MappingError) as exc:
        normalize(GOLDEN["stripe.charge.failed.payment.failed"].provider, value, SOURCE)

    letter = dead_letter(SOURCE, b"evt_1", value, exc.value.reasons, worker="normalizer-stripe")

    excerpt = letter.payload_excerpt
    assert (
        '"billing_details": {"address": {"city": "<redacted>", "country": "US", "line1": "<redacted>", '
        '"postal_code": "<redacted>"}, "name": "<redacted>", "phone": "<redacted>"}'
    ) in excerpt
    assert not any(value in excerpt for value in ("Jenny", "Townsend", "94107", "555 0100", "San Francisco"))
    assert '"provider_event_id": "evt_qTGgoHos0SWu7QKUjB9Cvvxf"' in excerpt  # what triage needs stays
    assert [(r.field, r.code) for r in letter.reasons] == [("payload.type", "unsupported")]
