"""Adyen items validate against the contracts and their HMACs verify with Adyen's own library."""

from __future__ import annotations

import json

import pytest
from Adyen.util import is_valid_hmac_notification  # type: ignore[import-untyped]

from contracts.reference.decline_codes import DECLINE_CODES
from contracts.reference.providers import Provider
from contracts.schemas.providers.adyen import SUPPORTED_EVENT_CODES, AdyenNotification
from simulator.checks import provider_event_ids
from simulator.providers.adyen import compute_signature
from simulator.providers.base import Fault, WebhookRequest
from simulator.secrets import TEST_SECRETS

KEY = TEST_SECRETS.adyen_hmac_key


def _adyen(requests: list[WebhookRequest]) -> list[WebhookRequest]:
    found = [r for r in requests if r.provider is Provider.ADYEN]
    assert found
    return found


def _items(request: WebhookRequest) -> list[dict[str, object]]:
    return [wrapper["NotificationRequestItem"] for wrapper in json.loads(request.body)["notificationItems"]]


def test_hmac_verifies_with_the_adyen_library(small_requests: list[WebhookRequest]) -> None:
    for request in _adyen(small_requests):
        for item in _items(request):
            assert is_valid_hmac_notification(item, KEY)


def test_items_validate_against_the_contract(small_requests: list[WebhookRequest]) -> None:
    codes = set()
    for request in _adyen(small_requests):
        notification = AdyenNotification.model_validate_json(request.body)
        assert notification.live == "false"
        for wrapper in notification.notification_items:
            codes.add(wrapper.item.event_code)
            assert wrapper.item.event_code in SUPPORTED_EVENT_CODES
        assert provider_event_ids(request) == [request.provider_event_id]
    assert {"AUTHORISATION", "REFUND", "NOTIFICATION_OF_CHARGEBACK"} <= codes


def test_metadata_goes_in_additional_data(small_requests: list[WebhookRequest]) -> None:
    for request in _adyen(small_requests):
        for item in _items(request):
            additional = item["additionalData"]
            assert isinstance(additional, dict)
            assert {f"metadata.{key}" for key in ("customer_id", "merchant_id", "device_id")} <= set(additional)
            assert additional["metadata.merchant_id"] == item["merchantAccountCode"]


def test_refusal_reasons_come_from_the_contracts_table(small_requests: list[WebhookRequest]) -> None:
    refused = [i for r in _adyen(small_requests) for i in _items(r) if i["success"] == "false"]
    assert refused
    assert {str(item["reason"]) for item in refused} <= set(DECLINE_CODES[Provider.ADYEN])


def test_signing_string_uses_empty_strings_for_missing_fields() -> None:
    item = {
        "pspReference": "PSP1",
        "merchantAccountCode": "Shop",
        "merchantReference": "order-1",
        "amount": {"value": 1000, "currency": "EUR"},
        "eventCode": "AUTHORISATION",
        "success": "true",
    }
    assert is_valid_hmac_notification({**item, "additionalData": {"hmacSignature": compute_signature(KEY, item)}}, KEY)


@pytest.mark.parametrize("fault", [Fault.WRONG_SECRET, Fault.TAMPERED_BODY])
def test_bad_signatures_fail_the_adyen_library(faulty_requests: list[WebhookRequest], fault: Fault) -> None:
    bad = [r for r in _adyen(faulty_requests) if r.fault is fault]
    assert bad
    assert not any(is_valid_hmac_notification(item, KEY) for request in bad for item in _items(request))


def test_missing_signature_has_no_hmac(faulty_requests: list[WebhookRequest]) -> None:
    bad = [r for r in _adyen(faulty_requests) if r.fault is Fault.MISSING_SIGNATURE]
    assert bad
    for request in bad:
        for item in _items(request):
            assert "hmacSignature" not in item["additionalData"]  # type: ignore[operator]
