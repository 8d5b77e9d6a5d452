"""Provider envelopes to `NormalizedEvent`s: pure functions, one module per provider.

`normalize` is the one entry point: Kafka bytes of a `webhooks.<provider>.v1` message in, a
`NormalizedEvent` out, a `MappingError` whose reasons name the fields, or `Ignored` for an event
that is deliberately no outcome of its own (a duplicate of another event's fact, a pending step).
Nothing else escapes. A Stripe refund or dispute that does not name the platform's merchant raises
`MerchantUnknown` (a `MappingError`) with its payment; mapped again with `party=` (its payment's
platform keys, `METADATA_KEYS`, merchant included), it maps.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pydantic import ValidationError

from contracts.reference.providers import Provider
from contracts.schemas.normalized_event import NormalizedEvent, SourcePosition
from contracts.topics import webhook_topic
from normalizer.mapping import adyen, braintree, square, stripe
from normalizer.mapping.errors import Ignored, MappingError, MerchantUnknown, reasons_from_validation

__all__ = ["Ignored", "MappingError", "MerchantUnknown", "decode", "map_envelope", "normalize"]

_MAPPERS: dict[Provider, Callable[[Any, SourcePosition | None], NormalizedEvent]] = {
    Provider.STRIPE: stripe.normalize,
    Provider.SQUARE: square.normalize,
    Provider.ADYEN: adyen.normalize,
    Provider.BRAINTREE: braintree.normalize,
}


def decode(provider: Provider, value: bytes | None) -> Any:
    """The provider's envelope from a Kafka value, or a `MappingError` with pydantic's field paths."""
    if value is None:
        raise MappingError.one("<value>", "missing", "the message has no value (a tombstone)")
    try:
        return webhook_topic(provider).decode(value)
    except ValidationError as exc:
        raise MappingError(reasons_from_validation(exc)) from None


def map_envelope(
    provider: Provider, envelope: Any, source: SourcePosition | None = None, *, party: Mapping[str, str] | None = None
) -> NormalizedEvent:
    """`party` is the platform keys of a Stripe refund's or dispute's payment (the only events
    whose object may not name the merchant); no other provider takes one."""
    if party is not None:
        _stripe_only(provider)
        return stripe.normalize(envelope, source, party)
    return _MAPPERS[provider](envelope, source)


def normalize(
    provider: Provider,
    value: bytes | None,
    source: SourcePosition | None = None,
    *,
    party: Mapping[str, str] | None = None,
) -> NormalizedEvent:
    if party is not None:
        _stripe_only(provider)
    return map_envelope(provider, decode(provider, value), source, party=party)


def _stripe_only(provider: Provider) -> None:
    if provider is not Provider.STRIPE:
        raise ValueError(f"{provider.value} events name their merchant; only Stripe's take one")
