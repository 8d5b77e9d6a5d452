"""Each provider's real webhook signature scheme, checked byte for byte on the raw request.

Every verifier takes the configured keys newest first (rotation), compares in constant time
(`hmac.compare_digest`), and returns the `SigningKey` that matched so that the envelope can name
it (`signature_key_id`) without ever carrying the secret.
"""

from gateway.signatures.keys import SigningKey

__all__ = ["SigningKey"]
