"""Countries the simulated world spans: where customers live, merchants sell and cards are issued.

Only what the simulation needs is kept: the currency (an ISO code that must exist in
`contracts.reference.currencies`, which owns exponents), a UTC offset for the local time of day, a
population weight, a rough exchange rate so that a customer's usual spend means the same in yen as
in dollars, and the alpha-3 code Braintree reports as a card's country of issuance.
Fixed numbers, not live rates: the simulation must be reproducible.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True, slots=True)
class Country:
    code: str
    """ISO 3166-1 alpha-2, as Stripe, Adyen and our metadata spell it."""
    alpha3: str
    """ISO 3166-1 alpha-3, as Braintree spells `country_of_issuance`."""
    currency: str
    utc_offset_hours: float
    weight: float
    """Share of customers and merchants (relative)."""
    usd_per_unit: float
    """Value of one major unit in US dollars (fixed, for amounts only)."""
    fraud_source_weight: float = 0.0
    """How often fraud traffic appears to come from here (relative); 0 for most countries."""


COUNTRIES: Final[tuple[Country, ...]] = (
    Country("US", "USA", "USD", -5, 30, 1.0, 2),
    Country("GB", "GBR", "GBP", 0, 10, 1.27, 1),
    Country("DE", "DEU", "EUR", 1, 8, 1.08),
    Country("FR", "FRA", "EUR", 1, 6, 1.08),
    Country("ES", "ESP", "EUR", 1, 3, 1.08),
    Country("IT", "ITA", "EUR", 1, 3, 1.08),
    Country("NL", "NLD", "EUR", 1, 3, 1.08),
    Country("CA", "CAN", "CAD", -5, 5, 0.73),
    Country("AU", "AUS", "AUD", 10, 4, 0.65),
    Country("JP", "JPN", "JPY", 9, 4, 0.0066),
    Country("BR", "BRA", "BRL", -3, 4, 0.18, 2),
    Country("MX", "MEX", "MXN", -6, 3, 0.055, 1),
    Country("IN", "IND", "INR", 5.5, 3, 0.012, 1),
    Country("SE", "SWE", "SEK", 1, 2, 0.094),
    Country("CH", "CHE", "CHF", 1, 2, 1.13),
    Country("SG", "SGP", "SGD", 8, 2, 0.74),
    Country("PL", "POL", "PLN", 1, 2, 0.25),
    Country("KW", "KWT", "KWD", 3, 1, 3.25),
    Country("NG", "NGA", "NGN", 1, 1, 0.00065, 3),
    Country("RO", "ROU", "RON", 2, 1, 0.22, 3),
    Country("VN", "VNM", "VND", 7, 1, 0.00004, 3),
    Country("ID", "IDN", "IDR", 7, 1, 0.000062, 3),
    Country("PH", "PHL", "PHP", 8, 1, 0.017, 2),
    Country("UA", "UKR", "UAH", 2, 1, 0.024, 3),
)

BY_CODE: Final[dict[str, Country]] = {country.code: country for country in COUNTRIES}
