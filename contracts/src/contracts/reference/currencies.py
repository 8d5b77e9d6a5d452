"""Active ISO 4217 currencies and their minor-unit exponents (the one table every service imports).

Only codes with a defined minor unit are listed: precious metals and testing codes (XAU, XTS,
XXX, ...) are not currencies a card payment can be made in. Withdrawn codes (HRK, BGN, ANG, SLL,
CUC, ZWL) are not accepted.

Two providers put some amounts on the wire with another exponent than ISO's
(`PROVIDER_EXPONENTS`): an ISK amount of 50000 from Stripe or Adyen is 500 krónur, not 50,000.
Read provider amounts with `provider_to_minor_units`, never as ISO minor units directly.
"""

import re
from collections.abc import Mapping
from decimal import Decimal, Inexact, localcontext
from typing import Final

from contracts.reference.providers import Provider

MINOR_UNIT_EXPONENTS: Final[dict[str, int]] = {
    "AED": 2,
    "AFN": 2,
    "ALL": 2,
    "AMD": 2,
    "AOA": 2,
    "ARS": 2,
    "AUD": 2,
    "AWG": 2,
    "AZN": 2,
    "BAM": 2,
    "BBD": 2,
    "BDT": 2,
    "BHD": 3,
    "BIF": 0,
    "BMD": 2,
    "BND": 2,
    "BOB": 2,
    "BOV": 2,
    "BRL": 2,
    "BSD": 2,
    "BTN": 2,
    "BWP": 2,
    "BYN": 2,
    "BZD": 2,
    "CAD": 2,
    "CDF": 2,
    "CHE": 2,
    "CHF": 2,
    "CHW": 2,
    "CLF": 4,
    "CLP": 0,
    "CNY": 2,
    "COP": 2,
    "COU": 2,
    "CRC": 2,
    "CUP": 2,
    "CVE": 2,
    "CZK": 2,
    "DJF": 0,
    "DKK": 2,
    "DOP": 2,
    "DZD": 2,
    "EGP": 2,
    "ERN": 2,
    "ETB": 2,
    "EUR": 2,
    "FJD": 2,
    "FKP": 2,
    "GBP": 2,
    "GEL": 2,
    "GHS": 2,
    "GIP": 2,
    "GMD": 2,
    "GNF": 0,
    "GTQ": 2,
    "GYD": 2,
    "HKD": 2,
    "HNL": 2,
    "HTG": 2,
    "HUF": 2,
    "IDR": 2,
    "ILS": 2,
    "INR": 2,
    "IQD": 3,
    "IRR": 2,
    "ISK": 0,
    "JMD": 2,
    "JOD": 3,
    "JPY": 0,
    "KES": 2,
    "KGS": 2,
    "KHR": 2,
    "KMF": 0,
    "KPW": 2,
    "KRW": 0,
    "KWD": 3,
    "KYD": 2,
    "KZT": 2,
    "LAK": 2,
    "LBP": 2,
    "LKR": 2,
    "LRD": 2,
    "LSL": 2,
    "LYD": 3,
    "MAD": 2,
    "MDL": 2,
    "MGA": 2,
    "MKD": 2,
    "MMK": 2,
    "MNT": 2,
    "MOP": 2,
    "MRU": 2,
    "MUR": 2,
    "MVR": 2,
    "MWK": 2,
    "MXN": 2,
    "MXV": 2,
    "MYR": 2,
    "MZN": 2,
    "NAD": 2,
    "NGN": 2,
    "NIO": 2,
    "NOK": 2,
    "NPR": 2,
    "NZD": 2,
    "OMR": 3,
    "PAB": 2,
    "PEN": 2,
    "PGK": 2,
    "PHP": 2,
    "PKR": 2,
    "PLN": 2,
    "PYG": 0,
    "QAR": 2,
    "RON": 2,
    "RSD": 2,
    "RUB": 2,
    "RWF": 0,
    "SAR": 2,
    "SBD": 2,
    "SCR": 2,
    "SDG": 2,
    "SEK": 2,
    "SGD": 2,
    "SHP": 2,
    "SLE": 2,
    "SOS": 2,
    "SRD": 2,
    "SSP": 2,
    "STN": 2,
    "SVC": 2,
    "SYP": 2,
    "SZL": 2,
    "THB": 2,
    "TJS": 2,
    "TMT": 2,
    "TND": 3,
    "TOP": 2,
    "TRY": 2,
    "TTD": 2,
    "TWD": 2,
    "TZS": 2,
    "UAH": 2,
    "UGX": 0,
    "USD": 2,
    "USN": 2,
    "UYI": 0,
    "UYU": 2,
    "UYW": 4,
    "UZS": 2,
    "VED": 2,
    "VES": 2,
    "VND": 0,
    "VUV": 0,
    "WST": 2,
    "XAF": 0,
    "XCD": 2,
    "XCG": 2,
    "XOF": 0,
    "XPF": 0,
    "YER": 2,
    "ZAR": 2,
    "ZMW": 2,
    "ZWG": 2,
}

CURRENCIES: Final[frozenset[str]] = frozenset(MINOR_UNIT_EXPONENTS)


class UnknownCurrencyError(ValueError):
    """Raised for a code that is not an active ISO 4217 currency with a minor unit."""

    def __init__(self, code: str) -> None:
        super().__init__(f"unknown currency {code!r}: not an active ISO 4217 code with a minor unit")
        self.code = code


def exponent(code: str) -> int:
    """Minor-unit exponent of an upper-case ISO 4217 code (JPY 0, USD 2, KWD 3, CLF 4)."""
    try:
        return MINOR_UNIT_EXPONENTS[code]
    except KeyError:
        raise UnknownCurrencyError(code) from None


PROVIDER_EXPONENTS: Final[Mapping[Provider, Mapping[str, int]]] = {
    # docs.stripe.com/currencies: ISK stays two-decimal in the API (amounts divisible by 100);
    # MGA is one of Stripe's zero-decimal currencies (ISO: 2).
    Provider.STRIPE: {"ISK": 2, "MGA": 0},
    # docs.adyen.com/development-resources/currency-codes: "differs from standard".
    Provider.ADYEN: {"CLP": 2, "CVE": 0, "IDR": 0, "ISK": 2},
    # Square sends ISO minor units; Braintree sends decimal major-unit strings.
}
"""Exponents a provider uses on the wire where they differ from ISO 4217's."""


def provider_exponent(provider: Provider, code: str) -> int:
    """The exponent of `provider`'s integer amounts in `code` (ISO's unless it deviates)."""
    iso = exponent(code)
    return PROVIDER_EXPONENTS.get(provider, {}).get(code, iso)


def _rescale(amount: int, from_exponent: int, to_exponent: int) -> int | None:
    """`amount` with `from_exponent` decimals, as an integer with `to_exponent`; None if inexact."""
    scale: int = 10 ** abs(to_exponent - from_exponent)
    if to_exponent >= from_exponent:
        return amount * scale
    whole, rest = divmod(amount, scale)
    return None if rest else whole


def provider_to_minor_units(provider: Provider, amount: int, code: str) -> int:
    """`provider`'s integer amount in `code`, as ISO minor units (Stripe ISK 50000 -> 500).

    Refuses an amount that does not convert exactly (Stripe ISK 50050), rather than rounding."""
    minor = _rescale(amount, provider_exponent(provider, code), exponent(code))
    if minor is None:
        raise ValueError(f"{provider.value} amount {amount} {code} is not a whole number of ISO minor units")
    return minor


def minor_units_for_provider(provider: Provider, minor: int, code: str) -> int:
    """ISO minor units as `provider` puts them on the wire (500 ISK -> Stripe 50000)."""
    amount = _rescale(minor, exponent(code), provider_exponent(provider, code))
    if amount is None:
        raise ValueError(f"{minor} {code} minor units cannot be sent to {provider.value} exactly")
    return amount


_PLAIN_DECIMAL = re.compile(r"[0-9]{1,30}(?:\.[0-9]{1,30})?")
_PRECISION = 80


def to_minor_units(amount: Decimal | str, code: str) -> int:
    """Convert a decimal major-unit amount ("10.00" USD) to integer minor units (1000).

    Refuses amounts with more precision than the currency has, rather than rounding money away,
    and anything but a plain non-negative decimal (no sign, exponent, underscores or spaces).
    """
    if isinstance(amount, str) and not _PLAIN_DECIMAL.fullmatch(amount):
        raise ValueError(f"amount {amount!r} is not a plain decimal number")
    value = Decimal(amount)
    if not value.is_finite() or value < 0:
        raise ValueError(f"amount {amount!r} is not a finite non-negative number")
    try:
        with localcontext() as context:
            context.prec = _PRECISION  # exact for any amount a payment can carry; never rounds
            context.traps[Inexact] = True
            scaled = value.scaleb(exponent(code))
    except ArithmeticError:  # decimal's Inexact or Overflow: far beyond any real amount
        raise ValueError(f"amount {amount!r} is out of range") from None
    if scaled != scaled.to_integral_value():
        raise ValueError(f"amount {amount!r} has more decimals than {code} allows ({exponent(code)})")
    return int(scaled)


def to_major_units(minor: int, code: str) -> Decimal:
    """Convert integer minor units back to an exact decimal major-unit amount."""
    return Decimal(minor).scaleb(-exponent(code))
