"""Square bodies validate against the contracts and their signatures verify with Square's own SDK."""

from __future__ import annotations

import json
from urllib.parse import parse_qsl

import pytest
from square.utils.webhooks_helper import verify_signature

from contracts.reference.providers import Provider
from contracts.schemas.normalized_event import METADATA_KEYS
from contracts.schemas.providers.square import SUPPORTED_EVENT_TYPES, SquareEvent
from simulator.checks import provider_event_ids
from simulator.providers.base import Fault, WebhookRequest
from simulator.providers.square import SIGNATURE_HEADER
from simulator.secrets import TEST_SECRETS


def _square(requests: list[WebhookRequest]) -> list[WebhookRequest]:
    found = [r for r in requests if r.provider is Provider.SQUARE]
    assert found
    return found


def _verify(request: WebhookRequest) -> bool:
    return verify_signature(
        request_body=request.body.decode(),
        signature_header=request.headers.get(SIGNATURE_HEADER, ""),
        signature_key=TEST_SECRETS.square_signature_key,
        notification_url=TEST_SECRETS.square_notification_url,
    )


def test_signatures_verify_with_the_square_sdk(small_requests: list[WebhookRequest]) -> None:
    assert all(_verify(request) for request in _square(small_requests))


def test_bodies_validate_against_the_contract(small_requests: list[WebhookRequest]) -> None:
    types = set()
    for request in _square(small_requests):
        event = SquareEvent.model_validate_json(request.body)
        types.add(event.type)
        assert event.type in SUPPORTED_EVENT_TYPES
        assert provider_event_ids(request) == [request.provider_event_id]
    assert {"payment.updated", "refund.updated", "dispute.created"} <= types


def test_note_carries_the_platform_metadata(small_requests: list[WebhookRequest]) -> None:
    for request in _square(small_requests):
        document = json.loads(request.body)
        if document["data"]["type"] != "payment":
            continue
        payment = document["data"]["object"]["payment"]
        note = dict(parse_qsl(payment["note"]))
        assert tuple(note) == METADATA_KEYS
        assert note["customer_id"] == payment["customer_id"]
        assert note["merchant_id"] == document["merchant_id"]


def test_failed_payments_carry_a_square_error_code(small_requests: list[WebhookRequest]) -> None:
    failed = [
        json.loads(r.body)["data"]["object"]["payment"]
        for r in _square(small_requests)
        if b'"status":"FAILED"' in r.body
    ]
    assert failed
    assert all(payment["card_details"]["errors"][0]["code"] for payment in failed)


@pytest.mark.parametrize("fault", [Fault.WRONG_SECRET, Fault.TAMPERED_BODY, Fault.MISSING_SIGNATURE])
def test_bad_signatures_fail_the_square_sdk(faulty_requests: list[WebhookRequest], fault: Fault) -> None:
    bad = [r for r in _square(faulty_requests) if r.fault is fault]
    assert bad
    assert not any(_verify(request) for request in bad)
