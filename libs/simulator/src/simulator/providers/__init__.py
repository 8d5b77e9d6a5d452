"""One adapter per provider: renders simulated events as that provider's signed webhooks."""

from __future__ import annotations

from typing import Final

from contracts.reference.providers import Provider
from simulator.providers.adyen import AdyenAdapter
from simulator.providers.base import ProviderAdapter
from simulator.providers.braintree import BraintreeAdapter
from simulator.providers.square import SquareAdapter
from simulator.providers.stripe import StripeAdapter

ADAPTERS: Final[dict[Provider, ProviderAdapter]] = {
    Provider.STRIPE: StripeAdapter(),
    Provider.SQUARE: SquareAdapter(),
    Provider.ADYEN: AdyenAdapter(),
    Provider.BRAINTREE: BraintreeAdapter(),
}
