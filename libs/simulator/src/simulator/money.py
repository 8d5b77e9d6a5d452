"""Amounts: a spend in US dollars becomes integer ISO minor units of the merchant's currency.

Exponents come from `contracts.reference.currencies` (JPY has none, KWD three), so a simulated
yen price is whole yen and a dinar price has fils. Where a provider uses fewer decimals on the
wire than ISO (Adyen's IDR has none), amounts are whole in that provider's unit, so that every
provider can carry them exactly; the writers convert with `minor_units_for_provider`.
"""

from __future__ import annotations

from functools import cache

from contracts.reference.currencies import exponent, provider_exponent
from contracts.reference.providers import Provider
from simulator.geography import Country


@cache
def _scale(currency: str) -> int:
    return int(10 ** exponent(currency))


@cache
def granularity(currency: str) -> int:
    """The smallest amount, in ISO minor units, that every provider can send exactly."""
    coarsest = min(provider_exponent(provider, currency) for provider in Provider)
    return int(10 ** max(exponent(currency) - coarsest, 0))


def _whole(minor: float, currency: str) -> int:
    step = granularity(currency)
    return max(step, round(minor / step) * step)


def to_minor(usd: float, country: Country) -> int:
    """`usd` dollars in the minor units of `country`'s currency; never below one sendable unit."""
    return _whole(usd / country.usd_per_unit * _scale(country.currency), country.currency)


def part_of(amount_minor: int, fraction: float, currency: str) -> int:
    """`fraction` of an amount (a partial refund), in units every provider can send."""
    return min(amount_minor, _whole(amount_minor * fraction, currency))
