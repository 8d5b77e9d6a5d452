"""Braintree notifications parse with Braintree's own SDK and validate against the contracts."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

import braintree  # type: ignore[import-untyped]
import pytest
from braintree.util.crypto import Crypto  # type: ignore[import-untyped]
from braintree.util.xml_util import XmlUtil  # type: ignore[import-untyped]

from contracts.reference.providers import Provider
from contracts.schemas.normalized_event import METADATA_KEYS
from contracts.schemas.providers.braintree import SUPPORTED_KINDS, BraintreeNotification
from simulator.checks import braintree_xml_to_dict, provider_event_ids
from simulator.providers.base import Fault, WebhookRequest
from simulator.providers.braintree import compute_signature, decode_form
from simulator.secrets import TEST_SECRETS


@pytest.fixture(scope="module")
def gateway() -> braintree.BraintreeGateway:
    return braintree.BraintreeGateway(
        braintree.Configuration(
            environment=braintree.Environment.Sandbox,
            merchant_id="simulator",
            public_key=TEST_SECRETS.braintree_public_key,
            private_key=TEST_SECRETS.braintree_private_key,
        )
    )


def _braintree(requests: list[WebhookRequest]) -> list[WebhookRequest]:
    found = [r for r in requests if r.provider is Provider.BRAINTREE]
    assert found
    return found


def test_notifications_parse_with_the_braintree_sdk(
    gateway: braintree.BraintreeGateway, small_requests: list[WebhookRequest]
) -> None:
    kinds = set()
    for request in _braintree(small_requests):
        signature, payload = decode_form(request.body)
        notification = gateway.webhook_notification.parse(signature, payload.decode())
        kinds.add(notification.kind)
        assert notification.kind == request.event_type
        subject = notification.subject.get("transaction") or notification.subject.get("dispute")
        assert subject["id"]
    assert {"transaction_settled", "transaction_processor_declined", "dispute_opened"} <= kinds


def _as_utc(node: Any) -> Any:
    """The SDK parses Braintree's `...Z` times into naive datetimes; they are UTC."""
    if isinstance(node, dict):
        return {key: _as_utc(value) for key, value in node.items()}
    if isinstance(node, datetime) and node.tzinfo is None:
        return node.replace(tzinfo=UTC)
    return node


def _sdk_dict(payload: bytes) -> dict[str, Any]:
    tree: dict[str, Any] = _as_utc(XmlUtil.dict_from_xml(base64.decodebytes(payload)))
    return tree


def test_sdk_parse_validates_against_the_contract(small_requests: list[WebhookRequest]) -> None:
    for request in _braintree(small_requests):
        _, payload = decode_form(request.body)
        tree = _sdk_dict(payload)
        notification = BraintreeNotification.model_validate(tree["notification"])
        assert notification.kind in SUPPORTED_KINDS
        assert notification.provider_event_id() == request.provider_event_id
        # Our stdlib reader agrees with the SDK's.
        ours = BraintreeNotification.model_validate(braintree_xml_to_dict(base64.decodebytes(payload))["notification"])
        assert ours.model_dump(mode="json") == notification.model_dump(mode="json")
        assert provider_event_ids(request) == [request.provider_event_id]


def test_custom_fields_carry_the_platform_metadata(small_requests: list[WebhookRequest]) -> None:
    for request in _braintree(small_requests):
        _, payload = decode_form(request.body)
        notification = BraintreeNotification.model_validate(_sdk_dict(payload)["notification"])
        transaction = notification.subject.transaction
        if transaction is not None:
            assert tuple(transaction.custom_fields) == METADATA_KEYS
            assert transaction.amount_minor() >= 0


def test_payload_is_encoded_like_the_sdk(gateway: braintree.BraintreeGateway) -> None:
    sample = gateway.webhook_testing.sample_notification(braintree.WebhookNotification.Kind.TransactionSettled, "abc")
    payload: bytes = sample["bt_payload"]
    # The SDK's own encoding: base64.encodebytes (76 characters a line, trailing newline).
    assert payload == base64.encodebytes(base64.decodebytes(payload))
    expected = Crypto.sha1_hmac_hash(TEST_SECRETS.braintree_private_key, payload)
    assert (
        sample["bt_signature"]
        == f"{TEST_SECRETS.braintree_public_key}|{compute_signature(TEST_SECRETS.braintree_private_key, payload)}"
    )
    assert expected == compute_signature(TEST_SECRETS.braintree_private_key, payload)


def test_request_is_a_form_post(small_requests: list[WebhookRequest]) -> None:
    request = _braintree(small_requests)[0]
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert request.body.startswith(b"bt_signature=")
    signature, payload = decode_form(request.body)
    assert signature is not None and signature.startswith(TEST_SECRETS.braintree_public_key + "|")
    lines = payload.split(b"\n")
    assert all(len(line) == 76 for line in lines[:-2]) and lines[-1] == b""


@pytest.mark.parametrize("fault", [Fault.WRONG_SECRET, Fault.TAMPERED_BODY, Fault.MISSING_SIGNATURE])
def test_bad_signatures_fail_the_braintree_sdk(
    gateway: braintree.BraintreeGateway, faulty_requests: list[WebhookRequest], fault: Fault
) -> None:
    bad = [r for r in _braintree(faulty_requests) if r.fault is fault]
    assert bad
    for request in bad:
        signature, payload = decode_form(request.body)
        with pytest.raises(braintree.exceptions.InvalidSignatureError):
            gateway.webhook_notification.parse(signature, payload.decode())
