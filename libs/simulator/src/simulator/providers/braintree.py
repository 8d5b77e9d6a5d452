"""Braintree: a form POST of `bt_signature` and `bt_payload` (base64 of the notification XML).

`bt_payload` is encoded as the official SDK's `WebhookTesting` encodes it (`base64.encodebytes`:
a newline every 76 characters and at the end); `bt_signature` is
`f"{public_key}|{hex(HMAC-SHA1(key=SHA1(private_key), msg=bt_payload))}"`.

| simulated | kind | subject |
|---|---|---|
| payment succeeded | `transaction_settled` | sale, `settled` (reported seconds after the sale rather than at the next settlement batch, so the four providers stay comparable) |
| payment failed | `transaction_processor_declined` | sale, `processor_declined`, the contracts' processor response code (a kind the contracts define for declines; Braintree itself answers declines synchronously) |
| refund | `transaction_settled` | credit, `refunded_transaction_id` = the sale |
| dispute opened / won / lost | `dispute_opened` / `dispute_won` / `dispute_lost` | dispute with its transaction |

The platform metadata goes in the transaction's `custom-fields` (one element per key of
`METADATA_KEYS`); the platform merchant id is also the `merchant-account-id` of transactions and
disputes. `country-of-issuance` is ISO alpha-3 ("USA"), as Braintree reports it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Final
from urllib.parse import parse_qs, quote_plus
from xml.sax.saxutils import escape

from contracts.reference.currencies import to_major_units
from contracts.reference.providers import Provider
from contracts.schemas.normalized_event import EventType
from simulator.catalog import BRANDS
from simulator.ids import HEX, LOWER36, IdFactory
from simulator.model import DisputeReason, Payment, SimEvent
from simulator.providers.base import Fault, Rendered, WebhookRequest, iso_z, metadata
from simulator.secrets import WebhookSecrets

RESPONSE_TEXT: Final = {
    "1000": "Approved",
    "2000": "Do Not Honor",
    "2001": "Insufficient Funds",
    "2002": "Limit Exceeded",
    "2003": "Cardholder's Activity Limit Exceeded",
    "2004": "Expired Card",
    "2005": "Invalid Credit Card Number",
    "2010": "Card Issuer Declined CVV",
    "2012": "Processor Declined - Possible Lost Card",
    "2013": "Processor Declined - Possible Stolen Card",
    "2014": "Processor Declined - Fraud Suspected",
    "2015": "Transaction Not Allowed",
    "2038": "Processor Declined",
    "2046": "Declined",
    "2047": "Call Issuer. Pick Up Card.",
    "2048": "Invalid Amount",
    "2099": "Cardholder Authentication Required",
    "3000": "Processor Network Unavailable - Try Again",
}
HARD_DECLINES: Final = frozenset({"2004", "2005", "2012", "2013", "2014", "2015", "2047"})

REASONS: Final = {
    DisputeReason.FRAUDULENT: "fraud",
    DisputeReason.UNRECOGNIZED: "fraud",
    DisputeReason.PRODUCT_NOT_RECEIVED: "not_received",
    DisputeReason.DUPLICATE: "duplicate",
    DisputeReason.CREDIT_NOT_PROCESSED: "credit_not_processed",
}


@dataclass(frozen=True, slots=True)
class DateTime:
    """A value Braintree marks `type="datetime"`."""

    text: str


Node = str | DateTime | None | dict[str, "Node"]


def _write(lines: list[str], tag: str, value: Node, depth: int) -> None:
    pad = "  " * depth
    name = tag.replace("_", "-")
    if value is None:
        lines.append(f'{pad}<{name} nil="true"/>')
    elif isinstance(value, DateTime):
        lines.append(f'{pad}<{name} type="datetime">{value.text}</{name}>')
    elif isinstance(value, str):
        lines.append(f"{pad}<{name}>{escape(value)}</{name}>")
    else:
        lines.append(f"{pad}<{name}>")
        for child, node in value.items():
            _write(lines, child, node, depth + 1)
        lines.append(f"{pad}</{name}>")


def to_xml(root: str, tree: dict[str, Node]) -> bytes:
    lines = ['<?xml version="1.0" encoding="UTF-8"?>']
    _write(lines, root, tree, 0)
    return ("\n".join(lines) + "\n").encode()


def compute_signature(private_key: str, payload: bytes) -> str:
    # SHA-1 is Braintree's scheme, not our choice: the key is SHA-1 of the private key.
    key = hashlib.sha1(private_key.encode()).digest()  # noqa: S324
    return hmac.new(key, payload, hashlib.sha1).hexdigest()


def _major(minor: int, currency: str) -> str:
    return format(to_major_units(minor, currency), "f")


_AMOUNT = re.compile(rb"<amount>([0-9.]+)</amount>")


def _tamper(payload: bytes) -> bytes:
    """Raise the first `<amount>` inside the base64 payload by one unit, keeping the signature."""
    xml = base64.decodebytes(payload)

    def bump(match: re.Match[bytes]) -> bytes:
        value = Decimal(match.group(1).decode()) + 1
        return b"<amount>" + format(value, "f").encode() + b"</amount>"

    return base64.encodebytes(_AMOUNT.sub(bump, xml, count=1))


def _quote_base64(payload: bytes) -> str:
    """`urlencode` of base64 text, exactly, without quoting it one character at a time."""
    text = payload.decode("ascii")
    return text.replace("+", "%2B").replace("/", "%2F").replace("=", "%3D").replace("\n", "%0A")


class BraintreeAdapter:
    provider: Provider = Provider.BRAINTREE
    path: str = "/webhooks/braintree"
    faults: tuple[Fault, ...] = (
        Fault.WRONG_SECRET,
        Fault.TAMPERED_BODY,
        Fault.MISSING_SIGNATURE,
        Fault.MISSING_FIELD,
        Fault.INVALID_VALUE,
        Fault.UNPARSABLE_BODY,
    )

    def _transaction(self, ids: IdFactory, event: SimEvent, txn_id: str) -> dict[str, Node]:
        payment = event.payment
        card = payment.card
        n = payment.index
        currency = payment.currency
        refund = event.kind is EventType.REFUND_SUCCEEDED
        ok = payment.succeeded
        code = "1000" if ok or refund else (payment.decline_code or "2000")
        transaction: dict[str, Node] = {
            "id": ids.token("btrefund", n, 8, LOWER36) if refund else txn_id,
            "status": "settled" if ok or refund else "processor_declined",
            "type": "credit" if refund else "sale",
            "currency_iso_code": currency,
        }
        if refund:
            assert payment.refund is not None
            transaction["amount"] = _major(payment.refund.amount_minor, currency)
            transaction["refunded_transaction_id"] = txn_id
        else:
            transaction["amount"] = _major(payment.amount_minor, currency)
        transaction.update(
            {
                "merchant_account_id": payment.merchant.id,
                "order_id": "order-" + ids.token("ref", n, 12),
                "processor_response_code": code,
                "processor_response_text": RESPONSE_TEXT.get(code, "Processor Declined"),
                "processor_response_type": (
                    "approved" if code == "1000" else "hard_declined" if code in HARD_DECLINES else "soft_declined"
                ),
                "gateway_rejection_reason": None,
                "customer": {"id": payment.customer_id},
                "credit_card": {
                    "bin": card.bin,
                    "last_4": card.last4,
                    "card_type": BRANDS[card.brand].braintree,
                    "expiration_month": f"{card.exp_month:02d}",
                    "expiration_year": str(card.exp_year),
                    "country_of_issuance": card.country.alpha3,
                    "unique_number_identifier": ids.token("btcard:" + card.fingerprint, 0, 32, HEX),
                    "prepaid": "Yes" if card.funding == "prepaid" else "No",
                    "debit": "No" if card.funding == "credit" else "Yes",
                },
                "custom_fields": dict(metadata(event).items()),
                "payment_instrument_type": "credit_card",
                "created_at": DateTime(iso_z(payment.refund.at if refund and payment.refund else payment.created_at)),
                "updated_at": DateTime(iso_z(event.at)),
            }
        )
        return transaction

    def _dispute(self, ids: IdFactory, event: SimEvent, txn_id: str) -> dict[str, Node]:
        payment = event.payment
        dispute = payment.dispute
        assert dispute is not None
        currency = payment.currency
        amount = _major(payment.amount_minor, currency)
        status = {EventType.DISPUTE_OPENED: "open", EventType.DISPUTE_WON: "won"}.get(event.kind, "lost")
        won = amount if status == "won" else _major(0, currency)
        received = iso_z(dispute.opened_at)[:10]
        return {
            "id": ids.token("btdispute", payment.index, 16, LOWER36),
            "amount": amount,
            "amount_disputed": amount,
            "amount_won": won,
            "case_number": "CASE-" + ids.token("btcase", payment.index, 8, HEX).upper(),
            "created_at": DateTime(iso_z(dispute.opened_at)),
            "currency_iso_code": currency,
            "kind": "chargeback",
            "merchant_account_id": payment.merchant.id,
            "reason": REASONS[dispute.reason],
            # Braintree marks these type="date"; left untyped so that they parse as the contract's str.
            "received_date": received,
            "status": status,
            "updated_at": DateTime(iso_z(event.at)),
            "transaction": {
                "id": txn_id,
                "amount": amount,
                "created_at": iso_z(payment.created_at),
                "order_id": "order-" + ids.token("ref", payment.index, 12),
            },
        }

    def render(self, event: SimEvent, ids: IdFactory, secrets: WebhookSecrets, fault: Fault = Fault.NONE) -> Rendered:
        payment: Payment = event.payment
        txn_id = ids.token("bttxn", payment.index, 8, LOWER36)
        kind = event.kind
        subject: dict[str, Node]
        if kind in (EventType.DISPUTE_OPENED, EventType.DISPUTE_WON, EventType.DISPUTE_LOST):
            notification_kind = {
                EventType.DISPUTE_OPENED: "dispute_opened",
                EventType.DISPUTE_WON: "dispute_won",
            }.get(kind, "dispute_lost")
            inner = self._dispute(ids, event, txn_id)
            subject = {"dispute": inner}
        else:
            ok = payment.succeeded or kind is EventType.REFUND_SUCCEEDED
            notification_kind = "transaction_settled" if ok else "transaction_processor_declined"
            inner = self._transaction(ids, event, txn_id)
            subject = {"transaction": inner}
        if fault is Fault.MISSING_FIELD:
            del inner["amount"]
        elif fault is Fault.INVALID_VALUE:
            inner["currency_iso_code"] = "ZZZ"
        timestamp = iso_z(event.at)
        xml = to_xml("notification", {"kind": notification_kind, "timestamp": DateTime(timestamp), "subject": subject})
        if fault is Fault.UNPARSABLE_BODY:
            xml = xml[: len(xml) // 2]
        payload = base64.encodebytes(xml)
        subject_id = str(inner["id"])
        provider_event_id = _provider_event_id(xml, f"{notification_kind}:{subject_id}:{timestamp[:-1]}+00:00")
        return Rendered(
            self.provider, notification_kind, provider_event_id, event.at + 1, payload, fault, event.seq, txn_id
        )

    def finish(self, rendered: Rendered, secrets: WebhookSecrets, signed_at: int) -> WebhookRequest:
        fault = rendered.fault
        payload = rendered.payload
        fields: list[tuple[str, str]] = []
        if fault is not Fault.MISSING_SIGNATURE:
            private_key = (
                secrets.wrong().braintree_private_key if fault is Fault.WRONG_SECRET else secrets.braintree_private_key
            )
            fields.append(("bt_signature", f"{secrets.braintree_public_key}|{compute_signature(private_key, payload)}"))
        if fault is Fault.TAMPERED_BODY:
            payload = _tamper(payload)
        body = "&".join(f"{name}={quote_plus(value)}" for name, value in fields)
        body += ("&" if fields else "") + "bt_payload=" + _quote_base64(payload)
        return WebhookRequest.deliver(
            rendered,
            self.path,
            {"Content-Type": "application/x-www-form-urlencoded", "User-Agent": "Braintree/1.0"},
            body.encode("ascii"),
            signed_at,
        )


def decode_form(body: bytes) -> tuple[str | None, bytes]:
    """(bt_signature, bt_payload) of a Braintree form body, as a receiver reads them."""
    fields = parse_qs(body.decode("ascii"), keep_blank_values=True)
    signature = fields.get("bt_signature", [None])[0]
    return signature, fields["bt_payload"][0].encode("ascii")


def _provider_event_id(xml: bytes, about: str) -> str:
    """The id the contract derives (`BraintreeNotification.provider_event_id`, which ends in a
    digest of the notification's content); for a faulty notification the contract cannot read,
    what it is about plus a digest of its XML."""
    from pydantic import ValidationError

    from contracts.schemas.providers.braintree import BraintreeNotification
    from simulator.checks import braintree_xml_to_dict  # imports this module: import at call time

    try:
        return BraintreeNotification.model_validate(braintree_xml_to_dict(xml)["notification"]).provider_event_id()
    except (ValueError, ValidationError, KeyError):
        return f"{about}:{hashlib.sha256(xml).hexdigest()[:32]}"
