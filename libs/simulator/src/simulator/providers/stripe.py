"""Stripe: `Event` JSON bodies (pretty-printed, as Stripe sends them), signed in `Stripe-Signature`.

Signature: `t=<unix>,v1=<hex HMAC-SHA256(secret, f"{t}.{body}")>`, one `v1` per endpoint secret
while a secret is being rolled. Events per step of a payment:

| simulated | Stripe event | object |
|---|---|---|
| payment succeeded | `charge.succeeded` | Charge |
| payment failed | `charge.failed` | Charge: `failure_code` (`card_declined` or an error code such as `expired_card`), the issuer's decline code in `outcome.reason` (as Stripe reports it) |
| refund | `refund.created` | Refund (`status: succeeded`) |
| dispute opened | `charge.dispute.created` | Dispute (`needs_response`) |
| dispute closed | `charge.dispute.closed` | Dispute (`won` / `lost`) |

The platform metadata (`METADATA_KEYS`) is in the Charge's and the Refund's `metadata`, as the
platform sets it when it creates them through the API. A Dispute's `metadata` is empty, as real
Stripe sends it: Stripe copies nothing from the charge into the dispute it opens (the normalizer
finds the merchant through the dispute's payment).
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any, Final

from contracts.reference.currencies import minor_units_for_provider
from contracts.reference.providers import Provider
from contracts.schemas.normalized_event import EventType
from simulator.catalog import BRANDS
from simulator.ids import IdFactory
from simulator.jsonfmt import pretty
from simulator.model import DisputeReason, Payment, SimEvent
from simulator.providers.base import (
    Fault,
    Rendered,
    WebhookRequest,
    drop,
    metadata,
    put,
    tamper_json_amount,
    truncate,
)
from simulator.secrets import WebhookSecrets

API_VERSION: Final = "2024-06-20"
SIGNATURE_HEADER: Final = "Stripe-Signature"

ERROR_CODES: Final = frozenset(
    {"expired_card", "incorrect_cvc", "incorrect_number", "invalid_expiry_year", "processing_error"}
)
"""Stripe codes that are error codes in their own right; other declines are `card_declined`."""

MESSAGES: Final = {
    "insufficient_funds": "Your card has insufficient funds.",
    "expired_card": "Your card has expired.",
    "incorrect_cvc": "Your card's security code is incorrect.",
    "incorrect_number": "Your card number is incorrect.",
    "invalid_expiry_year": "Your card's expiration year is invalid.",
    "processing_error": "An error occurred while processing your card. Try again in a little bit.",
    "authentication_required": "Your card was declined. This transaction requires authentication.",
}

REASONS: Final = {
    DisputeReason.FRAUDULENT: "fraudulent",
    DisputeReason.UNRECOGNIZED: "unrecognized",
    DisputeReason.PRODUCT_NOT_RECEIVED: "product_not_received",
    DisputeReason.DUPLICATE: "duplicate",
    DisputeReason.CREDIT_NOT_PROCESSED: "credit_not_processed",
}


def compute_signature(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), b"%d.%s" % (timestamp, body), hashlib.sha256).hexdigest()


def signature_header(secrets: tuple[str, ...], timestamp: int, body: bytes) -> str:
    return f"t={timestamp}," + ",".join(f"v1={compute_signature(s, timestamp, body)}" for s in secrets)


def _wire(payment: Payment, minor: int) -> int:
    """ISO minor units as Stripe writes them (ISK two-decimal, MGA zero-decimal)."""
    return minor_units_for_provider(Provider.STRIPE, minor, payment.currency)


class StripeAdapter:
    provider: Provider = Provider.STRIPE
    path: str = "/webhooks/stripe"
    faults: tuple[Fault, ...] = (
        Fault.WRONG_SECRET,
        Fault.TAMPERED_BODY,
        Fault.MISSING_SIGNATURE,
        Fault.MISSING_FIELD,
        Fault.INVALID_VALUE,
        Fault.UNPARSABLE_BODY,
    )

    def _ids(self, ids: IdFactory, payment: Payment) -> dict[str, str]:
        n = payment.index
        return {name: f"{name}_{ids.token(name, n, 24)}" for name in ("pi", "ch", "pm", "txn")}

    def _risk(self, ids: IdFactory, payment: Payment) -> int:
        # What Radar could see at payment time: the merchant's exposure, a foreign IP, a prepaid card.
        score = 12 + 30 * payment.merchant.risk + ids.number("risk", payment.index) % 20
        if payment.ip_country != payment.card.country.code:
            score += 15
        if payment.card.funding == "prepaid":
            score += 8
        return min(99, int(score))

    def _charge(self, payment: Payment, ref: dict[str, str], risk: int, md: dict[str, str]) -> dict[str, Any]:
        card = payment.card
        ok = payment.succeeded
        code = payment.decline_code
        amount = _wire(payment, payment.amount_minor)
        if ok:
            outcome: dict[str, Any] = {
                "network_status": "approved_by_network",
                "reason": None,
                "risk_level": "normal" if risk < 65 else "elevated" if risk < 75 else "highest",
                "risk_score": risk,
                "seller_message": "Payment complete.",
                "type": "authorized",
            }
        else:
            outcome = {
                "network_status": "declined_by_network",
                "reason": "generic_decline" if code == "card_declined" else code,
                "risk_level": "normal" if risk < 65 else "elevated" if risk < 75 else "highest",
                "risk_score": risk,
                "seller_message": "The bank did not return any further details with this decline.",
                "type": "issuer_declined",
            }
        return {
            "id": ref["ch"],
            "object": "charge",
            "amount": amount,
            "amount_captured": amount if ok else 0,
            "amount_refunded": 0,
            "application": None,
            "application_fee_amount": None,
            "balance_transaction": ref["txn"] if ok else None,
            "billing_details": {
                "address": {
                    "city": None,
                    "country": None,
                    "line1": None,
                    "line2": None,
                    "postal_code": None,
                    "state": None,
                },
                "email": None,
                "name": None,
                "phone": None,
            },
            "calculated_statement_descriptor": f"SIM* {payment.merchant.id[:10]}",
            "captured": ok,
            "created": payment.created_at,
            "currency": payment.currency.lower(),
            "customer": payment.customer_id,
            "description": None,
            "disputed": False,
            "failure_balance_transaction": None,
            "failure_code": None if ok else (code if code in ERROR_CODES else "card_declined"),
            "failure_message": None if ok else MESSAGES.get(code or "", "Your card was declined."),
            "fraud_details": {},
            "livemode": False,
            "metadata": md,
            "outcome": outcome,
            "paid": ok,
            "payment_intent": ref["pi"],
            "payment_method": ref["pm"],
            "payment_method_details": {
                "card": {
                    "amount_authorized": amount if ok else None,
                    "brand": BRANDS[card.brand].stripe,
                    "checks": {
                        "address_line1_check": None,
                        "address_postal_code_check": "pass",
                        "cvc_check": "fail" if code == "incorrect_cvc" else "pass",
                    },
                    "country": card.country.code,
                    "exp_month": card.exp_month,
                    "exp_year": card.exp_year,
                    "fingerprint": card.fingerprint,
                    "funding": card.funding,
                    "last4": card.last4,
                    "network": BRANDS[card.brand].stripe,
                    "three_d_secure": None,
                    "wallet": None,
                },
                "type": "card",
            },
            "receipt_email": None,
            "refunded": False,
            "review": None,
            "shipping": None,
            "source": None,
            "statement_descriptor": None,
            "status": "succeeded" if ok else "failed",
        }

    def _refund(self, ids: IdFactory, payment: Payment, ref: dict[str, str], md: dict[str, str]) -> dict[str, Any]:
        assert payment.refund is not None
        return {
            "id": f"re_{ids.token('re', payment.index, 24)}",
            "object": "refund",
            "amount": _wire(payment, payment.refund.amount_minor),
            "balance_transaction": f"txn_{ids.token('retxn', payment.index, 24)}",
            "charge": ref["ch"],
            "created": payment.refund.at,
            "currency": payment.currency.lower(),
            "metadata": md,
            "payment_intent": ref["pi"],
            "reason": "requested_by_customer",
            "receipt_number": None,
            "source_transfer_reversal": None,
            "status": "succeeded",
            "transfer_reversal": None,
        }

    def _dispute(self, ids: IdFactory, payment: Payment, ref: dict[str, str], status: str) -> dict[str, Any]:
        """Stripe opens the dispute, not the platform: no platform metadata on it (`metadata: {}`)."""
        dispute = payment.dispute
        assert dispute is not None
        return {
            "id": f"dp_{ids.token('dp', payment.index, 24)}",
            "object": "dispute",
            "amount": _wire(payment, payment.amount_minor),
            "balance_transactions": [],
            "charge": ref["ch"],
            "created": dispute.opened_at,
            "currency": payment.currency.lower(),
            "evidence_details": {
                "due_by": dispute.opened_at + 7 * 86_400,
                "has_evidence": False,
                "past_due": False,
                "submission_count": 0,
            },
            "is_charge_refundable": False,
            "livemode": False,
            "metadata": {},
            "payment_intent": ref["pi"],
            "reason": REASONS[dispute.reason],
            "status": status,
        }

    def render(self, event: SimEvent, ids: IdFactory, secrets: WebhookSecrets, fault: Fault = Fault.NONE) -> Rendered:
        payment = event.payment
        ref = self._ids(ids, payment)
        md = metadata(event)
        kind = event.kind
        from_request = kind in (EventType.PAYMENT_SUCCEEDED, EventType.PAYMENT_FAILED, EventType.REFUND_SUCCEEDED)
        if kind is EventType.PAYMENT_SUCCEEDED:
            event_type, obj = "charge.succeeded", self._charge(payment, ref, self._risk(ids, payment), md)
        elif kind is EventType.PAYMENT_FAILED:
            event_type, obj = "charge.failed", self._charge(payment, ref, self._risk(ids, payment), md)
        elif kind is EventType.REFUND_SUCCEEDED:
            event_type, obj = "refund.created", self._refund(ids, payment, ref, md)
        elif kind is EventType.DISPUTE_OPENED:
            event_type, obj = "charge.dispute.created", self._dispute(ids, payment, ref, "needs_response")
        else:
            status = "won" if kind is EventType.DISPUTE_WON else "lost"
            event_type, obj = "charge.dispute.closed", self._dispute(ids, payment, ref, status)
        event_id = f"evt_{ids.token('evt', event.seq, 24)}"
        document: dict[str, Any] = {
            "id": event_id,
            "object": "event",
            "api_version": API_VERSION,
            "created": event.at,
            "data": {"object": obj},
            "livemode": False,
            "pending_webhooks": 1,
            "request": {
                "id": f"req_{ids.token('req', event.seq, 14)}" if from_request else None,
                "idempotency_key": ids.uuid("idem", event.seq) if from_request else None,
            },
            "type": event_type,
        }
        if fault is Fault.MISSING_FIELD:
            drop(document, "data", "object", "amount")
        elif fault is Fault.INVALID_VALUE:
            put(document, "zzz", "data", "object", "currency")
        body = pretty(document).encode()
        if fault is Fault.UNPARSABLE_BODY:
            body = truncate(body)
        return Rendered(self.provider, event_type, event_id, event.at + 1, body, fault, event.seq, ref["pi"])

    def finish(self, rendered: Rendered, secrets: WebhookSecrets, signed_at: int) -> WebhookRequest:
        fault = rendered.fault
        body = rendered.payload
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
        }
        if fault is not Fault.MISSING_SIGNATURE:
            keys = (
                secrets.wrong().stripe_webhook_secrets
                if fault is Fault.WRONG_SECRET
                else secrets.stripe_webhook_secrets
            )
            headers[SIGNATURE_HEADER] = signature_header(keys, signed_at, body)
        if fault is Fault.TAMPERED_BODY:
            body = tamper_json_amount(body)
        return WebhookRequest.deliver(rendered, self.path, headers, body, signed_at)
