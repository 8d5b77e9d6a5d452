"""The payment providers the platform accepts webhooks from: the one list every service imports."""

from enum import StrEnum


class Provider(StrEnum):
    STRIPE = "stripe"
    SQUARE = "square"
    ADYEN = "adyen"
    BRAINTREE = "braintree"


PROVIDERS: tuple[Provider, ...] = tuple(Provider)
