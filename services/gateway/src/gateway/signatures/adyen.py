"""Adyen: every notification item carries `additionalData.hmacSignature`, the base64
HMAC-SHA256, keyed with the hex-decoded HMAC key, of eight item fields joined by `:`:

    pspReference:originalReference:merchantAccountCode:merchantReference:value:currency:eventCode:success

Values are joined as sent (no escaping); a missing field contributes an empty string. The item is
signed, not the batch, so every item is verified on its own and the raw JSON values are used (the
contract model normalizes some of them, e.g. currency case).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping, Sequence
from typing import Any

from gateway.errors import Reason, SignatureRejectedError
from gateway.signatures.keys import SigningKey, as_bytes

SIGNATURE_FIELD = "hmacSignature"

SIGNED_FIELDS: tuple[str, ...] = (
    "pspReference",
    "originalReference",
    "merchantAccountCode",
    "merchantReference",
    "value",
    "currency",
    "eventCode",
    "success",
)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        # What Adyen's own library produces for a (never sent) JSON boolean.
        return str(value)
    return str(value)


def signing_string(item: Mapping[str, Any]) -> str:
    amount = item.get("amount")
    amount = amount if isinstance(amount, Mapping) else {}
    values = {**item, "value": amount.get("value"), "currency": amount.get("currency")}
    return ":".join(_text(values.get(name)) for name in SIGNED_FIELDS)


def compute_signature(item: Mapping[str, Any], secret: bytes) -> bytes:
    digest = hmac.new(secret, signing_string(item).encode("utf-8"), hashlib.sha256).digest()
    return base64.b64encode(digest)


def provided_signature(item: Mapping[str, Any]) -> str:
    additional = item.get("additionalData")
    signature = additional.get(SIGNATURE_FIELD) if isinstance(additional, Mapping) else None
    if not isinstance(signature, str) or not signature:
        raise SignatureRejectedError("additionalData.hmacSignature missing", reason=Reason.SIGNATURE_MISSING)
    return signature


def verify_item(item: Mapping[str, Any], keys: Sequence[SigningKey]) -> SigningKey:
    """The key that signed this notification item (its raw JSON object)."""
    provided = as_bytes(provided_signature(item))
    for key in keys:
        if hmac.compare_digest(compute_signature(item, key.secret), provided):
            return key
    raise SignatureRejectedError("hmacSignature matches no configured key")
