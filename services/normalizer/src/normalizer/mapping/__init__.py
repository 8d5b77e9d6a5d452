"""Provider envelopes to `NormalizedEvent`s: pure functions, one module per provider.

`normalize` is the one entry point: Kafka bytes of a `webhooks.<provider>.v1` message in, a
`NormalizedEvent` out, a `MappingError` whose reasons name the fields, or `Ignored` for an event
that is deliberately no outcome of its own (a duplicate of another event's fact, a pending step).
Nothing else escapes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from contracts.reference.providers import Provider
from contracts.schemas.normalized_event import NormalizedEvent, SourcePosition
from contracts.topics import webhook_topic
from normalizer.mapping import adyen, braintree, square, stripe
from normalizer.mapping.errors import Ignored, MappingError, reasons_from_validation

__all__ = ["Ignored", "MappingError", "decode", "map_envelope", "normalize"]

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


def map_envelope(provider: Provider, envelope: Any, source: SourcePosition | None = None) -> NormalizedEvent:
    return _MAPPERS[provider](envelope, source)


def normalize(provider: Provider, value: bytes | None, source: SourcePosition | None = None) -> NormalizedEvent:
    return map_envelope(provider, decode(provider, value), source)
