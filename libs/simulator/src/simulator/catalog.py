"""What merchants sell and what cards customers carry: the simulation's fixed catalogue.

Merchant category codes (ISO 18245) carry a typical basket size and a base risk, because fraud is
not spread evenly: card testers probe digital goods and donations, account takers cash out on
electronics and jewellery. Card brands carry their BIN prefixes and the brand names each provider
reports, so that one simulated card looks like itself in every provider's payload.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final


@dataclass(frozen=True, slots=True)
class Category:
    mcc: str
    name: str
    weight: float
    """How many merchants of the world sell this (relative)."""
    amount_factor: float
    """Typical basket relative to a customer's usual spend."""
    risk: float
    """Base chance, 0..1, that fraudsters pick a merchant of this kind."""
    digital: bool = False
    """Goods delivered instantly online: favoured by card testers and friendly fraud."""
    resale: bool = False
    """Goods that resell easily: favoured by account takeover and velocity abuse."""


CATEGORIES: Final[tuple[Category, ...]] = (
    Category("5411", "grocery", 20, 1.0, 0.05),
    Category("5812", "restaurants", 15, 0.8, 0.05),
    Category("5814", "fast_food", 10, 0.35, 0.05),
    Category("5999", "misc_retail", 8, 1.2, 0.2),
    Category("5691", "clothing", 8, 1.8, 0.15, resale=True),
    Category("5732", "electronics", 5, 4.0, 0.5, resale=True),
    Category("5944", "jewelry", 2, 6.0, 0.6, resale=True),
    Category("5816", "digital_games", 4, 0.6, 0.6, digital=True),
    Category("4816", "online_services", 4, 0.8, 0.5, digital=True),
    Category("5968", "subscriptions", 4, 0.7, 0.4, digital=True),
    Category("4121", "rideshare", 6, 0.9, 0.2),
    Category("4511", "airlines", 2, 8.0, 0.45, resale=True),
    Category("7011", "hotels", 3, 5.0, 0.3),
    Category("5912", "pharmacy", 5, 0.7, 0.1),
    Category("8398", "charities", 1, 1.0, 0.5, digital=True),
    Category("5942", "books", 3, 0.9, 0.1),
    Category("7995", "gambling", 1, 2.0, 0.8, digital=True),
    Category("5300", "wholesale_clubs", 3, 3.0, 0.1, resale=True),
)


class Brand(StrEnum):
    VISA = "visa"
    MASTERCARD = "mastercard"
    AMEX = "amex"
    DISCOVER = "discover"
    JCB = "jcb"


@dataclass(frozen=True, slots=True)
class BrandInfo:
    brand: Brand
    bin_prefixes: tuple[str, ...]
    weight: float
    stripe: str
    square: str
    adyen: str
    braintree: str


BRANDS: Final[dict[Brand, BrandInfo]] = {
    Brand.VISA: BrandInfo(Brand.VISA, ("4",), 55, "visa", "VISA", "visa", "Visa"),
    Brand.MASTERCARD: BrandInfo(
        Brand.MASTERCARD,
        ("51", "52", "53", "54", "55", "2221", "2720"),
        33,
        "mastercard",
        "MASTERCARD",
        "mc",
        "MasterCard",
    ),
    Brand.AMEX: BrandInfo(Brand.AMEX, ("34", "37"), 7, "amex", "AMERICAN_EXPRESS", "amex", "American Express"),
    Brand.DISCOVER: BrandInfo(Brand.DISCOVER, ("6011", "65"), 3, "discover", "DISCOVER", "discover", "Discover"),
    Brand.JCB: BrandInfo(Brand.JCB, ("3528", "3589"), 2, "jcb", "JCB", "jcb", "JCB"),
}

FUNDING: Final[tuple[tuple[str, float], ...]] = (("credit", 0.55), ("debit", 0.4), ("prepaid", 0.05))
