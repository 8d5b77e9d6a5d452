"""The world: reproducible from the seed and consistent with the contracts' reference data."""

from __future__ import annotations

import dataclasses

from contracts.reference.currencies import CURRENCIES
from contracts.reference.providers import Provider
from simulator.catalog import BRANDS
from simulator.config import SimulationConfig
from simulator.geography import COUNTRIES
from simulator.world import build_world


def test_every_country_uses_a_contracts_currency() -> None:
    assert {country.currency for country in COUNTRIES} <= CURRENCIES


def test_same_seed_same_world_and_different_seed_different_world(small_config: SimulationConfig) -> None:
    first, second = build_world(small_config), build_world(small_config)
    assert [c.id for c in first.customers] == [c.id for c in second.customers]
    assert [m.id for m in first.merchants] == [m.id for m in second.merchants]
    other = build_world(dataclasses.replace(small_config, seed=small_config.seed + 1))
    assert not {c.id for c in first.customers} & {c.id for c in other.customers}


def test_customers_have_cards_devices_and_favourites(small_config: SimulationConfig) -> None:
    world = build_world(small_config)
    assert len(world.customers) == small_config.customers
    for customer in world.customers:
        assert 1 <= len(customer.cards) <= 3
        assert 1 <= len(customer.devices) <= 3
        assert customer.merchants
        assert customer.spend_usd > 0 and customer.rate > 0
        for card in customer.cards:
            assert any(card.bin.startswith(prefix) for prefix in BRANDS[card.brand].bin_prefixes)
            assert len(card.bin) == 6 and len(card.last4) == 4 and 1 <= card.exp_month <= 12


def test_merchants_spread_over_the_four_providers(small_config: SimulationConfig) -> None:
    world = build_world(dataclasses.replace(small_config, merchants=200))
    assert {m.provider for m in world.merchants} == set(Provider)
    assert len({m.id for m in world.merchants}) == 200
