"""Amounts: a spend in US dollars becomes integer minor units of the merchant's currency.

Exponents come from `contracts.reference.currencies` (JPY has none, KWD three), so a simulated
yen price is whole yen and a dinar price has fils, exactly as the providers exchange them.
"""

from __future__ import annotations

from functools import cache

from contracts.reference.currencies import exponent
from simulator.geography import Country


@cache
def _scale(currency: str) -> int:
    return int(10 ** exponent(currency))


def to_minor(usd: float, country: Country) -> int:
    """`usd` dollars in the minor units of `country`'s currency; never below one minor unit."""
    return max(1, round(usd / country.usd_per_unit * _scale(country.currency)))
