"""What every provider's mapping shares: money, times, declines, metadata and the final build."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from contracts.reference.currencies import UnknownCurrencyError, provider_to_minor_units, to_minor_units
from contracts.reference.decline_codes import DeclineCategory, categorize
from contracts.reference.providers import Provider
from contracts.schemas.normalized_event import METADATA_KEYS, NormalizedEvent, SourcePosition, event_id_for
from normalizer.mapping.errors import Ignored, MappingError, MerchantUnknown, reason, reasons_from_validation


def provider_amount(provider: Provider, amount: int, currency: str, field: str) -> int:
    """A provider's integer amount as ISO minor units, exactly, or a reason naming `field`."""
    try:
        return provider_to_minor_units(provider, amount, currency)
    except (UnknownCurrencyError, ValueError) as exc:
        raise MappingError.one(field, "inexact_amount", str(exc)) from None


def major_amount(amount: Decimal, currency: str, field: str) -> int:
    """A decimal major-unit amount (Braintree's "10.00") as ISO minor units, exactly, or a reason."""
    try:
        return to_minor_units(amount, currency)
    except (UnknownCurrencyError, ValueError) as exc:
        raise MappingError.one(field, "inexact_amount", str(exc)) from None


def from_epoch(seconds: int, field: str) -> datetime:
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        raise MappingError.one(field, "invalid_timestamp", f"{seconds} is not a representable Unix time") from None


def decline(provider: Provider, code: str | None) -> dict[str, Any]:
    """`decline_code` and its contracts category; a decline without a code is `UNKNOWN`."""
    return {"decline_code": code, "decline_category": categorize(provider, code) if code else DeclineCategory.UNKNOWN}


def lifted(metadata: Mapping[str, str] | None) -> dict[str, str]:
    """The platform's keys (`METADATA_KEYS`) that a merchant put in provider metadata; empty ones
    count as absent."""
    if not metadata:
        return {}
    return {key: metadata[key] for key in METADATA_KEYS if metadata.get(key)}


def require(value: str | None, field: str, what: str) -> str:
    if not value:
        raise MappingError.one(field, "missing", f"{what} is missing")
    return value


def unsupported(field: str, value: str, what: str) -> MappingError:
    return MappingError.one(field, "unsupported", f"{what} {value!r} has no normalized equivalent")


def build(
    provider: Provider, provider_event_id: str, source: SourcePosition | None, fields: Mapping[str, Any]
) -> NormalizedEvent:
    """The `NormalizedEvent`, or the contract's own objections as field-level reasons."""
    try:
        return NormalizedEvent(
            event_id=event_id_for(provider, provider_event_id),
            provider=provider,
            provider_event_id=provider_event_id,
            source=source,
            **fields,
        )
    except ValidationError as exc:
        raise MappingError(reasons_from_validation(exc, prefix="normalized")) from None


__all__ = [
    "Ignored",
    "MappingError",
    "MerchantUnknown",
    "build",
    "decline",
    "from_epoch",
    "lifted",
    "major_amount",
    "provider_amount",
    "reason",
    "require",
    "unsupported",
]
