"""Configured webhook secrets, labelled so that logs and envelopes can say which one matched."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class SigningKey:
    key_id: str
    """Index or label of the configured secret: safe to log and to publish."""
    secret: bytes = field(repr=False)
    """Raw key bytes as the provider's scheme uses them (never logged)."""


def as_bytes(value: str) -> bytes:
    """Header and form values as bytes for `hmac.compare_digest`, which refuses non-ASCII str."""
    return value.encode("utf-8", "surrogateescape")
