"""Braintree: form fields `bt_signature` and `bt_payload`.

`bt_signature` is `public_key|hex(HMAC-SHA1(key=SHA1(private_key), bt_payload))`, possibly several
pairs joined by `&` (one per API key of the merchant). The pair whose public key is configured is
checked with that key's private key. As the SDK does, the payload is also tried with a trailing
newline, which some form encoders strip from base64 text.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Sequence

from gateway.errors import MalformedRequestError, Reason, SignatureRejectedError
from gateway.signatures.keys import SigningKey, as_bytes

MAX_PAIRS = 16
_PAYLOAD_ALPHABET = re.compile(rb"[^A-Za-z0-9+=/\n]")


def signing_key(private_key: bytes) -> bytes:
    """Braintree keys its HMAC with the SHA-1 digest of the private key."""
    return hashlib.sha1(private_key).digest()  # noqa: S324  # Braintree's scheme, not our choice


def compute_signature(payload: bytes, private_key: bytes) -> str:
    return hmac.new(signing_key(private_key), payload, hashlib.sha1).hexdigest()


def parse_pairs(signature: str) -> list[tuple[str, str]]:
    pairs = [part.partition("|")[::2] for part in signature.split("&") if "|" in part]
    if not pairs:
        raise SignatureRejectedError("no public_key|signature pair", reason=Reason.SIGNATURE_MALFORMED)
    if len(pairs) > MAX_PAIRS:
        raise SignatureRejectedError("too many signature pairs", reason=Reason.SIGNATURE_MALFORMED)
    return pairs


def verify(payload: bytes, signature: str | None, keys: Sequence[SigningKey]) -> SigningKey:
    """`keys` carry the public key as `key_id` and the private key as `secret`."""
    if not signature:
        raise SignatureRejectedError("bt_signature missing", reason=Reason.SIGNATURE_MISSING)
    pairs = parse_pairs(signature)
    by_public_key = {key.key_id: key for key in keys}
    candidates = [(by_public_key[public], digest) for public, digest in pairs if public in by_public_key]
    if not candidates:
        raise SignatureRejectedError("no signature pair for a configured public key")
    for key, digest in candidates:
        provided = as_bytes(digest)
        for signed in (payload, payload + b"\n"):
            if hmac.compare_digest(compute_signature(signed, key.secret).encode(), provided):
                return key
    raise SignatureRejectedError("signature does not match the payload")


def check_payload_alphabet(payload: bytes) -> None:
    """Braintree payloads are base64 text (the SDK refuses anything else before verifying)."""
    if not payload or _PAYLOAD_ALPHABET.search(payload):
        raise MalformedRequestError("bt_payload is not base64 text")
