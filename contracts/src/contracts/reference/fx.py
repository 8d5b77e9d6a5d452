"""The one FX reference table: US dollars per major unit of each currency, as of one date.

Every `amount_usd` in the platform (the dbt warehouse through a seed generated from this table,
inference's context features, the normalizer's streaming features) is computed with these
numbers, so a payment has the same dollar amount in training and in serving.

Fixed reference rates, not live quotes: features must be reproducible. A new set of rates is a
new `FX_RATES_AS_OF` date and a contracts release, like any other contract change.
"""

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from types import MappingProxyType
from typing import Final

from contracts.reference.currencies import CURRENCIES, to_major_units

FX_RATES_AS_OF: Final = date(2026, 12, 1)
"""The date the rates below were taken; every rate in the table shares it."""

USD_PER_UNIT: Final[Mapping[str, Decimal]] = MappingProxyType(
    {
        "USD": Decimal("1"),
        "EUR": Decimal("1.08"),
        "GBP": Decimal("1.27"),
        "CAD": Decimal("0.73"),
        "AUD": Decimal("0.65"),
        "NZD": Decimal("0.60"),
        "JPY": Decimal("0.0066"),
        "KRW": Decimal("0.00073"),
        "CNY": Decimal("0.14"),
        "HKD": Decimal("0.128"),
        "SGD": Decimal("0.74"),
        "INR": Decimal("0.012"),
        "IDR": Decimal("0.000062"),
        "PHP": Decimal("0.017"),
        "VND": Decimal("0.00004"),
        "BRL": Decimal("0.18"),
        "MXN": Decimal("0.055"),
        "CHF": Decimal("1.13"),
        "SEK": Decimal("0.094"),
        "NOK": Decimal("0.092"),
        "DKK": Decimal("0.145"),
        "ISK": Decimal("0.0072"),
        "PLN": Decimal("0.25"),
        "RON": Decimal("0.22"),
        "UAH": Decimal("0.024"),
        "KWD": Decimal("3.25"),
        "BHD": Decimal("2.65"),
        "NGN": Decimal("0.00065"),
        "ZAR": Decimal("0.055"),
    }
)
"""US dollars for one major unit (1 EUR = 1.08 USD). Keys are ISO 4217 codes from `currencies`."""


class NoFxRateError(LookupError):
    """The currency is a real ISO code but the reference table has no rate for it."""


def usd_per_unit(currency: str) -> Decimal:
    try:
        return USD_PER_UNIT[currency]
    except KeyError:
        raise NoFxRateError(f"no USD rate for {currency!r} in the FX table of {FX_RATES_AS_OF}") from None


def amount_usd(amount_minor: int, currency: str) -> Decimal:
    """`amount_minor` (ISO minor units of `currency`) in US dollars, exact (no rounding)."""
    return to_major_units(amount_minor, currency) * usd_per_unit(currency)


def fx_rows() -> list[tuple[str, Decimal, date]]:
    """The table as rows (currency, usd_per_unit, as_of), sorted by currency: what the dbt seed holds."""
    return [(code, USD_PER_UNIT[code], FX_RATES_AS_OF) for code in sorted(USD_PER_UNIT)]


def _check_table() -> None:
    for code, rate in USD_PER_UNIT.items():
        if code not in CURRENCIES:
            raise ValueError(f"FX table: {code!r} is not an ISO 4217 currency")
        if not rate > 0:
            raise ValueError(f"FX table: the rate of {code} must be positive")


_check_table()
