"""Stripe: `Stripe-Signature: t=<unix>,v1=<hex>[,v1=<hex>...]`, HMAC-SHA256 over `"{t}.{body}"`.

Stripe sends one `v1` per active endpoint secret while a secret is being rolled, so any `v1`
matching any configured secret verifies the delivery. The timestamp must lie within the tolerance
on both sides: an old one is a replay, a future one a forged or badly skewed clock.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

from gateway.errors import Reason, SignatureRejectedError
from gateway.signatures.keys import SigningKey, as_bytes

HEADER = "stripe-signature"
SCHEME = "v1"
MAX_SIGNATURES = 8
MAX_TIMESTAMP_DIGITS = 12
"""Unix seconds have 10 digits until the year 2286; Python refuses to read over 4,300."""


def parse_header(header: str) -> tuple[int, list[str]]:
    """`t=..,v1=..,v0=..` -> (timestamp, [v1 signatures]); other schemes are ignored."""
    timestamps: list[str] = []
    signatures: list[str] = []
    for item in header.split(","):
        name, sep, value = item.strip().partition("=")
        if not sep:
            continue
        if name == "t":
            timestamps.append(value)
        elif name == SCHEME:
            signatures.append(value)
    if (
        len(timestamps) != 1
        or not timestamps[0].isascii()
        or not timestamps[0].isdigit()
        or len(timestamps[0]) > MAX_TIMESTAMP_DIGITS
    ):
        raise SignatureRejectedError(
            f"expected exactly one numeric t= of at most {MAX_TIMESTAMP_DIGITS} digits",
            reason=Reason.SIGNATURE_MALFORMED,
        )
    if not signatures:
        raise SignatureRejectedError(f"no {SCHEME} signature in header", reason=Reason.SIGNATURE_MALFORMED)
    if len(signatures) > MAX_SIGNATURES:
        raise SignatureRejectedError("too many signatures", reason=Reason.SIGNATURE_MALFORMED)
    return int(timestamps[0]), signatures


def compute_signature(timestamp: int | str, body: bytes, secret: bytes) -> str:
    return hmac.new(secret, b"%s.%s" % (str(timestamp).encode(), body), hashlib.sha256).hexdigest()


def verify(body: bytes, header: str | None, keys: Sequence[SigningKey], *, now: float, tolerance: int) -> SigningKey:
    """The key that signed `body`, or `SignatureRejectedError` with the precise reason."""
    if not header:
        raise SignatureRejectedError(f"{HEADER} header missing", reason=Reason.SIGNATURE_MISSING)
    timestamp, signatures = parse_header(header)
    provided = [as_bytes(signature) for signature in signatures]
    matched: SigningKey | None = None
    for key in keys:
        expected = compute_signature(timestamp, body, key.secret).encode()
        # Check every provided signature (no early exit inside one key) in constant time.
        if any([hmac.compare_digest(expected, candidate) for candidate in provided]):
            matched = key
            break
    if matched is None:
        raise SignatureRejectedError("no v1 signature matches a configured secret")
    if timestamp < now - tolerance:
        raise SignatureRejectedError(
            f"timestamp older than the {tolerance} s tolerance", reason=Reason.TIMESTAMP_EXPIRED
        )
    if timestamp > now + tolerance:
        raise SignatureRejectedError(
            f"timestamp more than {tolerance} s in the future", reason=Reason.TIMESTAMP_IN_FUTURE
        )
    return matched
