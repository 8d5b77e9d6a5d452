"""Square: `x-square-hmacsha256-signature` = base64(HMAC-SHA256(key, notification URL + raw body)).

The URL is the one configured in the Square webhook subscription, byte for byte: Square signs
what it was told to call, which behind a proxy is not what this process sees.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence

from gateway.errors import Reason, SignatureRejectedError
from gateway.signatures.keys import SigningKey, as_bytes

HEADER = "x-square-hmacsha256-signature"


def compute_signature(notification_url: str, body: bytes, secret: bytes) -> bytes:
    digest = hmac.new(secret, notification_url.encode() + body, hashlib.sha256).digest()
    return base64.b64encode(digest)


def verify(body: bytes, header: str | None, keys: Sequence[SigningKey], *, notification_url: str) -> SigningKey:
    if not header:
        raise SignatureRejectedError(f"{HEADER} header missing", reason=Reason.SIGNATURE_MISSING)
    provided = as_bytes(header.strip())
    for key in keys:
        if hmac.compare_digest(compute_signature(notification_url, body, key.secret), provided):
            return key
    raise SignatureRejectedError("signature matches no configured key")
