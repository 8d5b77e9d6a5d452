"""Square: compact JSON event bodies signed in `x-square-hmacsha256-signature`.

Signature: `base64(HMAC-SHA256(signature_key, notification_url + body))`, where the URL is the one
configured in the Square webhook subscription. Events per step of a payment:

| simulated | Square event | object |
|---|---|---|
| payment succeeded / failed | `payment.updated` | Payment `COMPLETED` / `FAILED` (decline code in `card_details.errors[].code`) |
| refund | `refund.updated` | Refund `COMPLETED` |
| dispute opened | `dispute.created` | Dispute `EVIDENCE_REQUIRED` |
| dispute closed | `dispute.state.updated` | Dispute `WON` / `LOST` |

Where the platform metadata goes (Square has no free-form metadata map on payments): the event's
`merchant_id` is the platform merchant id (each simulated merchant is its own Square seller), the
payment's `customer_id` is the platform customer id, and the payment's `note` carries all of
`METADATA_KEYS` URL-encoded (`customer_id=...&merchant_id=...&device_id=...&ip_country=US&merchant_category=5411`).
Refunds and disputes carry only what Square puts on them (`merchant_id`, the payment id).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any, Final
from urllib.parse import urlencode

from contracts.reference.providers import Provider
from contracts.schemas.normalized_event import EventType
from simulator.catalog import BRANDS
from simulator.ids import IdFactory
from simulator.model import DisputeReason, Payment, SimEvent
from simulator.providers.base import (
    Fault,
    Rendered,
    WebhookRequest,
    drop,
    iso_z,
    metadata,
    put,
    tamper_json_amount,
    truncate,
)
from simulator.secrets import WebhookSecrets

SIGNATURE_HEADER: Final = "x-square-hmacsha256-signature"
SQUARE_VERSION: Final = "2024-06-04"

REASONS: Final = {
    DisputeReason.FRAUDULENT: "NO_KNOWLEDGE",
    DisputeReason.UNRECOGNIZED: "NO_KNOWLEDGE",
    DisputeReason.PRODUCT_NOT_RECEIVED: "NOT_RECEIVED",
    DisputeReason.DUPLICATE: "DUPLICATE",
    DisputeReason.CREDIT_NOT_PROCESSED: "CUSTOMER_REQUESTS_CREDIT",
}

_COMPACT: Final = (",", ":")


def compute_signature(signature_key: str, notification_url: str, body: bytes) -> str:
    digest = hmac.new(signature_key.encode(), notification_url.encode() + body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


class SquareAdapter:
    provider: Provider = Provider.SQUARE
    path: str = "/webhooks/square"
    faults: tuple[Fault, ...] = (
        Fault.WRONG_SECRET,
        Fault.TAMPERED_BODY,
        Fault.MISSING_SIGNATURE,
        Fault.MISSING_FIELD,
        Fault.INVALID_VALUE,
        Fault.UNPARSABLE_BODY,
    )

    def _money(self, payment: Payment, amount: int) -> dict[str, Any]:
        return {"amount": amount, "currency": payment.currency}

    def _payment(self, ids: IdFactory, event: SimEvent, payment_id: str) -> dict[str, Any]:
        payment = event.payment
        card = payment.card
        ok = payment.succeeded
        n = payment.index
        created = iso_z(payment.created_at, ids.number("ms", n) % 1000)
        updated = iso_z(event.at, ids.number("ms2", n) % 1000)
        details: dict[str, Any] = {
            "status": "CAPTURED" if ok else "FAILED",
            "card": {
                "card_brand": BRANDS[card.brand].square,
                "last_4": card.last4,
                "exp_month": card.exp_month,
                "exp_year": card.exp_year,
                "fingerprint": "sq-1-" + ids.token("sqfp:" + card.fingerprint, 0, 64),
                "card_type": "CREDIT" if card.funding == "credit" else "DEBIT",
                "prepaid_type": "PREPAID" if card.funding == "prepaid" else "NOT_PREPAID",
                "bin": card.bin,
            },
            "entry_method": "KEYED",
            "cvv_status": "CVV_REJECTED" if payment.decline_code == "CVV_FAILURE" else "CVV_ACCEPTED",
            "avs_status": "AVS_REJECTED" if payment.decline_code == "ADDRESS_VERIFICATION_FAILURE" else "AVS_ACCEPTED",
            "statement_description": "SQ *" + payment.merchant.id[:12],
            "card_payment_timeline": {"authorized_at": created, "captured_at": updated} if ok else {},
        }
        if not ok:
            code = payment.decline_code or "GENERIC_DECLINE"
            details["errors"] = [
                {
                    "code": code,
                    "category": "API_ERROR" if code == "TEMPORARY_ERROR" else "PAYMENT_METHOD_ERROR",
                    "detail": f"Authorization error: '{code}'",
                }
            ]
        money = self._money(payment, payment.amount_minor)
        return {
            "id": payment_id,
            "created_at": created,
            "updated_at": updated,
            "amount_money": money,
            "total_money": money,
            "approved_money": money if ok else self._money(payment, 0),
            "status": "COMPLETED" if ok else "FAILED",
            "delay_duration": "PT168H",
            "source_type": "CARD",
            "card_details": details,
            "location_id": payment.merchant.location_id,
            "order_id": ids.token("sqorder", n, 29),
            "customer_id": payment.customer_id,
            "reference_id": "order-" + ids.token("ref", n, 12),
            "note": urlencode(metadata(event)),
            "risk_evaluation": {"created_at": created, "risk_level": "NORMAL"},
            "receipt_number": payment_id[:4],
            "receipt_url": f"https://squareup.com/receipt/preview/{payment_id}",
            "application_details": {"square_product": "ECOMMERCE_API", "application_id": "sq0idp-simulator"},
            "version_token": ids.token("sqver", n, 40),
            "version": 3 if ok else 2,
        }

    def _refund(self, ids: IdFactory, event: SimEvent, payment_id: str) -> dict[str, Any]:
        payment = event.payment
        assert payment.refund is not None
        n = payment.index
        return {
            "id": f"{payment_id}_{ids.token('sqrefund', n, 29)}",
            "status": "COMPLETED",
            "amount_money": self._money(payment, payment.refund.amount_minor),
            "payment_id": payment_id,
            "order_id": ids.token("sqorder", n, 29),
            "location_id": payment.merchant.location_id,
            "reason": "Requested by customer",
            "destination_type": "CARD",
            "created_at": iso_z(payment.refund.at, ids.number("ms3", n) % 1000),
            "updated_at": iso_z(event.at, ids.number("ms4", n) % 1000),
        }

    def _dispute(self, ids: IdFactory, event: SimEvent, payment_id: str, state: str) -> dict[str, Any]:
        payment = event.payment
        dispute = payment.dispute
        assert dispute is not None
        dispute_id = ids.token("sqdispute", payment.index, 22)
        return {
            "id": dispute_id,
            "dispute_id": dispute_id,
            "amount_money": self._money(payment, payment.amount_minor),
            "reason": REASONS[dispute.reason],
            "state": state,
            "due_at": iso_z(dispute.opened_at + 7 * 86_400),
            "disputed_payment": {"payment_id": payment_id},
            "card_brand": BRANDS[payment.card.brand].square,
            "created_at": iso_z(dispute.opened_at),
            "updated_at": iso_z(event.at),
            "brand_dispute_id": ids.token("sqbrand", payment.index, 20),
            "reported_at": iso_z(dispute.opened_at),
            "version": 1 if state == "EVIDENCE_REQUIRED" else 2,
            "location_id": payment.merchant.location_id,
        }

    def render(self, event: SimEvent, ids: IdFactory, secrets: WebhookSecrets, fault: Fault = Fault.NONE) -> Rendered:
        payment = event.payment
        payment_id = ids.token("sqpay", payment.index, 29)
        kind = event.kind
        if kind in (EventType.PAYMENT_SUCCEEDED, EventType.PAYMENT_FAILED):
            event_type, data_type, obj = "payment.updated", "payment", self._payment(ids, event, payment_id)
        elif kind is EventType.REFUND_SUCCEEDED:
            event_type, data_type, obj = "refund.updated", "refund", self._refund(ids, event, payment_id)
        elif kind is EventType.DISPUTE_OPENED:
            event_type, data_type = "dispute.created", "dispute"
            obj = self._dispute(ids, event, payment_id, "EVIDENCE_REQUIRED")
        else:
            event_type, data_type = "dispute.state.updated", "dispute"
            obj = self._dispute(ids, event, payment_id, "WON" if kind is EventType.DISPUTE_WON else "LOST")
        event_id = ids.uuid("sqevt", event.seq)
        document: dict[str, Any] = {
            "merchant_id": payment.merchant.id,
            "type": event_type,
            "event_id": event_id,
            "created_at": iso_z(event.at, ids.number("ms5", event.seq) % 1000),
            "data": {"type": data_type, "id": obj["id"], "object": {data_type: obj}},
        }
        if fault is Fault.MISSING_FIELD:
            drop(document, "data", "object", data_type, "amount_money")
        elif fault is Fault.INVALID_VALUE:
            put(document, "ZZZ", "data", "object", data_type, "amount_money", "currency")
        body = json.dumps(document, separators=_COMPACT).encode()
        if fault is Fault.UNPARSABLE_BODY:
            body = truncate(body)
        return Rendered(self.provider, event_type, event_id, event.at + 1, body, fault, event.seq, payment_id)

    def finish(self, rendered: Rendered, secrets: WebhookSecrets, signed_at: int) -> WebhookRequest:
        fault = rendered.fault
        body = rendered.payload
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Square Connect v2",
            "Square-Version": SQUARE_VERSION,
            "Square-Environment": "Production",
            "Square-Initial-Delivery-Timestamp": iso_z(rendered.delivered_at),
            "Square-Retry-Number": "0",
        }
        if fault is not Fault.MISSING_SIGNATURE:
            key = secrets.wrong().square_signature_key if fault is Fault.WRONG_SECRET else secrets.square_signature_key
            headers[SIGNATURE_HEADER] = compute_signature(key, secrets.square_notification_url, body)
        if fault is Fault.TAMPERED_BODY:
            body = tamper_json_amount(body)
        return WebhookRequest.deliver(rendered, self.path, headers, body, signed_at)
