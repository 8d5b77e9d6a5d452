"""Stripe bodies validate against the contracts and their signatures verify with Stripe's own SDK."""

from __future__ import annotations

import json

import pytest
import stripe

from contracts.reference.providers import Provider
from contracts.schemas.providers.stripe import SUPPORTED_EVENT_TYPES, StripeEvent
from simulator.checks import provider_event_ids
from simulator.providers.base import Fault, WebhookRequest
from simulator.providers.stripe import signature_header
from simulator.secrets import TEST_SECRETS

SECRET = TEST_SECRETS.stripe_webhook_secrets[0]


def _stripe(requests: list[WebhookRequest]) -> list[WebhookRequest]:
    found = [r for r in requests if r.provider is Provider.STRIPE]
    assert found
    return found


def test_signatures_verify_with_the_stripe_sdk(small_requests: list[WebhookRequest]) -> None:
    for request in _stripe(small_requests):
        header = request.headers["Stripe-Signature"]
        assert stripe.WebhookSignature.verify_header(request.body.decode(), header, SECRET, tolerance=None)
        # A tolerance wider than the simulated period: file-mode signatures carry simulated time.
        event = stripe.Webhook.construct_event(request.body.decode(), header, SECRET, tolerance=10**10)
        assert event.type == request.event_type


def test_bodies_validate_against_the_contract(small_requests: list[WebhookRequest]) -> None:
    types = set()
    for request in _stripe(small_requests):
        event = StripeEvent.model_validate_json(request.body)
        types.add(event.type)
        assert event.type in SUPPORTED_EVENT_TYPES
        assert provider_event_ids(request) == [request.provider_event_id]
    assert {"charge.succeeded", "charge.failed", "refund.created", "charge.dispute.created"} <= types


def test_body_is_pretty_printed_like_stripe(small_requests: list[WebhookRequest]) -> None:
    body = _stripe(small_requests)[0].body.decode()
    assert body == json.dumps(json.loads(body), indent=2)


def test_decline_code_is_in_outcome_reason(small_requests: list[WebhookRequest]) -> None:
    failed = [json.loads(r.body)["data"]["object"] for r in _stripe(small_requests) if r.event_type == "charge.failed"]
    assert failed
    for charge in failed:
        assert charge["status"] == "failed"
        assert charge["outcome"]["reason"]
        assert charge["failure_code"]


def test_metadata_carries_the_platform_keys_except_on_disputes(small_requests: list[WebhookRequest]) -> None:
    """Charges and refunds carry what the platform set; a dispute, opened by Stripe, carries none."""
    kinds = set()
    for request in _stripe(small_requests):
        obj = json.loads(request.body)["data"]["object"]
        kinds.add(obj["object"])
        if obj["object"] == "dispute":
            assert obj["metadata"] == {}
        else:
            assert set(obj["metadata"]) == {
                "customer_id",
                "merchant_id",
                "device_id",
                "ip_country",
                "merchant_category",
            }
    assert {"charge", "refund", "dispute"} <= kinds


def test_rotation_sends_one_v1_per_secret() -> None:
    body = b'{"id": "evt_1"}'
    header = signature_header(("whsec_new", "whsec_old"), 1_700_000_000, body)
    assert header.count("v1=") == 2
    for secret in ("whsec_new", "whsec_old"):
        assert stripe.WebhookSignature.verify_header(body.decode(), header, secret, tolerance=None)


@pytest.mark.parametrize("fault", [Fault.WRONG_SECRET, Fault.TAMPERED_BODY, Fault.MISSING_SIGNATURE])
def test_bad_signatures_fail_the_stripe_sdk(faulty_requests: list[WebhookRequest], fault: Fault) -> None:
    bad = [r for r in _stripe(faulty_requests) if r.fault is fault]
    assert bad
    for request in bad:
        header = request.headers.get("Stripe-Signature", "")
        with pytest.raises(stripe.SignatureVerificationError):
            stripe.WebhookSignature.verify_header(request.body.decode(), header, SECRET, tolerance=None)
