"""Simulated amounts are whole in every provider's unit, so each provider can carry them exactly."""

import pytest

from contracts.reference.currencies import minor_units_for_provider, provider_to_minor_units
from contracts.reference.providers import Provider
from simulator.geography import COUNTRIES, Country
from simulator.money import granularity, part_of, to_minor


def test_rupiah_are_whole_because_adyen_sends_them_without_decimals() -> None:
    assert granularity("IDR") == 100  # ISO gives IDR two decimals, Adyen none
    assert (granularity("USD"), granularity("JPY"), granularity("KWD")) == (1, 1, 1)


@pytest.mark.parametrize("country", COUNTRIES, ids=lambda country: country.currency)
@pytest.mark.parametrize("usd", [0.01, 0.5, 3.0, 49.99, 1234.56])
def test_every_amount_converts_exactly_for_every_provider(country: Country, usd: float) -> None:
    minor = to_minor(usd, country)
    currency = country.currency
    for amount in (minor, part_of(minor, 0.37, currency)):
        assert amount >= 1 and amount % granularity(currency) == 0
        for provider in Provider:
            wire = minor_units_for_provider(provider, amount, currency)
            assert provider_to_minor_units(provider, wire, currency) == amount
