"""Adyen: standard notifications, a JSON batch whose every item carries its own HMAC signature.

`additionalData.hmacSignature` = base64(HMAC-SHA256(key=bytes.fromhex(hmac_key), msg=
"pspReference:originalReference:merchantAccountCode:merchantReference:value:currency:eventCode:success")),
missing fields as empty strings, values unescaped. One item per request, as Adyen delivers by default.

| simulated | eventCode | notes |
|---|---|---|
| payment succeeded / failed | `AUTHORISATION` | `success` `"true"` / `"false"`; refusal reason (from the contracts' table) in `reason` |
| refund | `REFUND` | `originalReference` = the payment's pspReference |
| dispute opened | `NOTIFICATION_OF_CHARGEBACK` | the dispute's own pspReference (shared by all its events), `originalReference` = payment |
| dispute lost / won | `CHARGEBACK` / `CHARGEBACK_REVERSED` | |

The platform metadata goes in `additionalData` as `metadata.<key>` for each of `METADATA_KEYS`
(what Adyen echoes from the payment request's `metadata`); the platform merchant id is also the
`merchantAccountCode`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from typing import Any, Final

from contracts.reference.currencies import minor_units_for_provider
from contracts.reference.providers import Provider
from contracts.schemas.normalized_event import EventType
from simulator.catalog import BRANDS
from simulator.ids import DIGITS, UPPER36, IdFactory
from simulator.model import DisputeReason, Payment, SimEvent
from simulator.providers.base import Fault, Rendered, WebhookRequest, iso_offset, metadata
from simulator.secrets import WebhookSecrets

SIGNED_FIELDS: Final = (
    "pspReference",
    "originalReference",
    "merchantAccountCode",
    "merchantReference",
    "value",
    "currency",
    "eventCode",
    "success",
)

CHARGEBACK_REASONS: Final = {
    DisputeReason.FRAUDULENT: ("Other Fraud-Card Absent Environment", "10.4"),
    DisputeReason.UNRECOGNIZED: ("Other Fraud-Card Absent Environment", "10.4"),
    DisputeReason.PRODUCT_NOT_RECEIVED: ("Merchandise/Services Not Received", "13.1"),
    DisputeReason.DUPLICATE: ("Duplicate Processing", "12.6.1"),
    DisputeReason.CREDIT_NOT_PROCESSED: ("Credit Not Processed", "13.6"),
}

_COMPACT: Final = (",", ":")


def signing_string(item: dict[str, Any]) -> str:
    amount = item.get("amount") or {}
    values = {**item, "value": amount.get("value"), "currency": amount.get("currency")}
    return ":".join("" if values.get(name) is None else str(values[name]) for name in SIGNED_FIELDS)


def compute_signature(hex_key: str, item: dict[str, Any]) -> str:
    digest = hmac.new(binascii.a2b_hex(hex_key), signing_string(item).encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


class AdyenAdapter:
    provider: Provider = Provider.ADYEN
    path: str = "/webhooks/adyen"
    # The signature sits inside the body: a body cut short cannot be verified at all, so
    # `UNPARSABLE_BODY` is not one of Adyen's faults.
    faults: tuple[Fault, ...] = (
        Fault.WRONG_SECRET,
        Fault.TAMPERED_BODY,
        Fault.MISSING_SIGNATURE,
        Fault.MISSING_FIELD,
        Fault.INVALID_VALUE,
    )

    def _psp(self, ids: IdFactory, kind: str, payment: Payment) -> str:
        return ids.token(kind, payment.index, 16, UPPER36)

    def _card_data(self, ids: IdFactory, payment: Payment) -> dict[str, str]:
        card = payment.card
        return {
            "alias": "H" + ids.token("alias:" + card.fingerprint, 0, 15, DIGITS),
            "aliasType": "Default",
            "cardBin": card.bin,
            "cardSummary": card.last4,
            "expiryDate": f"{card.exp_month}/{card.exp_year}",
            "issuerCountry": card.country.code,
            "shopperReference": payment.customer_id,
        }

    def _item(self, event: SimEvent, ids: IdFactory) -> tuple[dict[str, Any], dict[str, str]]:
        payment = event.payment
        card = payment.card
        kind = event.kind
        additional: dict[str, str] = {}
        item: dict[str, Any] = {}
        amount = payment.amount_minor
        if kind in (EventType.PAYMENT_SUCCEEDED, EventType.PAYMENT_FAILED):
            ok = payment.succeeded
            additional.update(self._card_data(ids, payment))
            if ok:
                auth_code = ids.token("auth", payment.index, 6, DIGITS)
                additional["authCode"] = auth_code
                reason = f"{auth_code}:{card.last4}:{card.exp_month:02d}/{card.exp_year}"
            else:
                reason = payment.decline_code or "Refused"
            item.update(
                eventCode="AUTHORISATION",
                psp=self._psp(ids, "psp", payment),
                original=None,
                reason=reason,
                success="true" if ok else "false",
                operations=["CANCEL", "CAPTURE", "REFUND"] if ok else None,
            )
        elif kind is EventType.REFUND_SUCCEEDED:
            assert payment.refund is not None
            amount = payment.refund.amount_minor
            item.update(
                eventCode="REFUND",
                psp=self._psp(ids, "psprefund", payment),
                original=self._psp(ids, "psp", payment),
                reason="",
                success="true",
                operations=None,
            )
        else:
            dispute = payment.dispute
            assert dispute is not None
            reason_text, reason_code = CHARGEBACK_REASONS[dispute.reason]
            event_code, status = {
                EventType.DISPUTE_OPENED: ("NOTIFICATION_OF_CHARGEBACK", "Undefended"),
                EventType.DISPUTE_WON: ("CHARGEBACK_REVERSED", "Won"),
                EventType.DISPUTE_LOST: ("CHARGEBACK", "Lost"),
            }[kind]
            additional.update(
                chargebackReasonCode=reason_code,
                chargebackSchemeCode=BRANDS[card.brand].adyen,
                defensePeriodEndsAt=iso_offset(dispute.opened_at + 7 * 86_400),
                disputeStatus=status,
            )
            item.update(
                eventCode=event_code,
                psp=self._psp(ids, "pspdispute", payment),
                original=self._psp(ids, "psp", payment),
                reason=reason_text,
                success="true",
                operations=None,
            )
        for key, value in metadata(event).items():
            additional[f"metadata.{key}"] = value
        document: dict[str, Any] = {
            "additionalData": additional,
            "amount": {
                "currency": payment.currency,
                "value": minor_units_for_provider(Provider.ADYEN, amount, payment.currency),
            },
            "eventCode": item["eventCode"],
            "eventDate": iso_offset(event.at),
            "merchantAccountCode": payment.merchant.id,
            "merchantReference": "order-" + ids.token("ref", payment.index, 12),
        }
        if item["original"] is not None:
            document["originalReference"] = item["original"]
        if item["operations"] is not None:
            document["operations"] = item["operations"]
        document["paymentMethod"] = BRANDS[card.brand].adyen
        document["pspReference"] = item["psp"]
        document["reason"] = item["reason"]
        document["success"] = item["success"]
        return document, additional

    def render(self, event: SimEvent, ids: IdFactory, secrets: WebhookSecrets, fault: Fault = Fault.NONE) -> Rendered:
        item, additional = self._item(event, ids)
        if fault is Fault.MISSING_FIELD:
            # Not one of the signed fields: the signature stays valid, the schema does not.
            del item["eventDate"]
        elif fault is Fault.INVALID_VALUE:
            item["amount"]["currency"] = "ZZZ"
        if fault is not Fault.MISSING_SIGNATURE:
            key = secrets.wrong().adyen_hmac_key if fault is Fault.WRONG_SECRET else secrets.adyen_hmac_key
            # Adyen lists hmacSignature first in additionalData.
            signed = {"hmacSignature": compute_signature(key, item)}
            signed.update(additional)
            item["additionalData"] = signed
        if fault is Fault.TAMPERED_BODY:
            item["amount"]["value"] += 1
        body = json.dumps(
            {"live": "false", "notificationItems": [{"NotificationRequestItem": item}]}, separators=_COMPACT
        )
        provider_event_id = f"{item['pspReference']}:{item['eventCode']}:{item['success']}"
        payment_psp = self._psp(ids, "psp", event.payment)
        return Rendered(
            self.provider,
            item["eventCode"],
            provider_event_id,
            event.at + 1,
            body.encode(),
            fault,
            event.seq,
            payment_psp,
        )

    def finish(self, rendered: Rendered, secrets: WebhookSecrets, signed_at: int) -> WebhookRequest:
        return WebhookRequest.deliver(
            rendered,
            self.path,
            {"Content-Type": "application/json", "User-Agent": "Adyen HttpClient 1.0"},
            rendered.payload,
            signed_at,
        )
