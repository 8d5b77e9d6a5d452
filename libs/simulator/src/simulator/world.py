"""The simulated world: customers, their cards and devices, and the merchants they buy from.

The world has memory. A customer keeps a home country, a usual spend and rate, a few favourite
merchants, one to three cards and devices; during the run a card expires and is replaced, a phone
is swapped for a new one, a customer travels abroad, an account is taken over. Those legitimate
"new card / new device / new country" moments are why a rules baseline misfires and a model that
sees the whole history does better. Everything is drawn from one seeded stream, so a seed is a world.
"""

from __future__ import annotations

import random
from bisect import bisect
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import accumulate

from contracts.reference.providers import Provider
from simulator.catalog import BRANDS, CATEGORIES, FUNDING, Brand, Category
from simulator.config import SimulationConfig
from simulator.geography import COUNTRIES, Country
from simulator.ids import BASE62, DIGITS, HEX, UPPER36, IdFactory, encode

SEGMENTS: tuple[tuple[str, float, float], ...] = (
    ("budget", 0.35, 15.0),
    ("regular", 0.5, 40.0),
    ("premium", 0.15, 120.0),
)
"""(segment, share of customers, median spend per purchase in USD)."""


@dataclass(slots=True, eq=False)
class Card:
    fingerprint: str
    """Stable per card (Stripe-style, 16 characters); provider-specific card ids derive from it."""
    bin: str
    last4: str
    brand: Brand
    country: Country
    funding: str
    exp_month: int
    exp_year: int
    expires_at: int
    """First instant at which the card no longer works (start of the month after expiry)."""


@dataclass(slots=True, eq=False)
class Merchant:
    id: str
    """Platform merchant id; also the Square seller id, Adyen merchant account and Braintree
    merchant account id, so that every provider's payload names the merchant the same way."""
    category: Category
    country: Country
    provider: Provider
    risk: float
    popularity: float
    location_id: str
    """Square location of the merchant's online store."""


@dataclass(slots=True, eq=False)
class Customer:
    id: str
    country: Country
    segment: str
    spend_usd: float
    rate: float
    """Usual purchases per day."""
    devices: list[str]
    cards: list[Card]
    merchants: list[Merchant]
    merchant_cumulative: list[float]
    churn_at: int | None = None
    churn_kind: str | None = None
    """`voluntary` (buys less and less, then stops) or `involuntary` (payments keep failing)."""
    trip: tuple[int, int, Country] | None = None
    """(from, until, country) of a trip abroad during the run."""
    new_device: tuple[int, str] | None = None
    """(from, device id) of a phone bought during the run."""
    is_fraudster: bool = False
    """An account a fraudster created (guest checkouts, mule accounts): not a real customer."""
    taken_over_at: int | None = None
    """When a fraudster took over the account, if one did."""

    def favourite_merchant(self, rng: random.Random) -> Merchant:
        return self.merchants[bisect(self.merchant_cumulative, rng.random() * self.merchant_cumulative[-1])]


@dataclass(slots=True)
class World:
    config: SimulationConfig
    customers: list[Customer]
    merchants: list[Merchant]
    merchants_by_country: dict[str, list[Merchant]]
    fraud_accounts: list[Customer] = field(default_factory=list)
    _ids: IdFactory = field(default_factory=lambda: IdFactory("world"))
    _bins: dict[tuple[Brand, str], tuple[str, ...]] = field(default_factory=dict)

    def bins(self, brand: Brand, country: Country) -> tuple[str, ...]:
        """The few BINs an issuer of `country` uses for `brand`, fixed per seed."""
        key = (brand, country.code)
        if key not in self._bins:
            prefixes = BRANDS[brand].bin_prefixes
            pool = []
            for n in range(4):
                prefix = prefixes[self._ids.number(f"binprefix:{brand}:{country.code}", n) % len(prefixes)]
                pool.append(prefix + self._ids.token(f"bin:{brand}:{country.code}", n, 6 - len(prefix), DIGITS))
            self._bins[key] = tuple(pool)
        return self._bins[key]

    def new_card(
        self, rng: random.Random, country: Country, *, brand: Brand | None = None, bin_pool: tuple[str, ...] = ()
    ) -> Card:
        """A card issued in `country`; fraud rings pass a `bin_pool` to enumerate a few BINs."""
        start = self.config.start
        if brand is None:
            brand = pick_brand(rng, country)
        card_bin = rng.choice(bin_pool) if bin_pool else rng.choice(self.bins(brand, country))
        if bin_pool:
            brand = _brand_of_bin(card_bin)
        months_ahead = rng.randrange(0, 60)
        month_index = start.year * 12 + start.month - 1 + months_ahead
        exp_year, exp_month = divmod(month_index, 12)
        expires_year, expires_month = divmod(month_index + 1, 12)
        expires_at = int(datetime(expires_year, expires_month + 1, 1, tzinfo=UTC).timestamp())
        funding = FUNDING[bisect(_FUNDING_CUMULATIVE, rng.random() * _FUNDING_CUMULATIVE[-1])][0]
        return Card(
            fingerprint=encode(rng.randbytes(16), BASE62, 16),
            bin=card_bin,
            last4=encode(rng.randbytes(4), DIGITS, 4),
            brand=brand,
            country=country,
            funding=funding,
            exp_month=exp_month + 1,
            exp_year=exp_year,
            expires_at=expires_at,
        )

    def new_fraud_account(self, rng: random.Random, country: Country, device: str) -> Customer:
        """An account a fraudster opens (guest checkout, mule): recorded for the ground truth."""
        account = Customer(
            id=self.new_customer_id(rng),
            country=country,
            segment="fraud",
            spend_usd=0.0,
            rate=0.0,
            devices=[device],
            cards=[],
            merchants=[],
            merchant_cumulative=[],
            is_fraudster=True,
        )
        self.fraud_accounts.append(account)
        return account

    def new_device(self, rng: random.Random) -> str:
        return "dev_" + encode(rng.randbytes(16), HEX, 16)

    def new_customer_id(self, rng: random.Random) -> str:
        return "cus_" + encode(rng.randbytes(14), BASE62, 14)

    def merchants_in(self, country: Country) -> list[Merchant]:
        return self.merchants_by_country.get(country.code) or self.merchants


_COUNTRY_CUMULATIVE = tuple(accumulate(country.weight for country in COUNTRIES))
_FRAUD_SOURCE_CUMULATIVE = tuple(accumulate(country.fraud_source_weight for country in COUNTRIES))
_CATEGORY_CUMULATIVE = tuple(accumulate(category.weight for category in CATEGORIES))
_SEGMENT_CUMULATIVE = tuple(accumulate(share for _, share, _ in SEGMENTS))
_FUNDING_CUMULATIVE = tuple(accumulate(share for _, share in FUNDING))


def pick_country(rng: random.Random) -> Country:
    return COUNTRIES[bisect(_COUNTRY_CUMULATIVE, rng.random() * _COUNTRY_CUMULATIVE[-1])]


def pick_fraud_source(rng: random.Random) -> Country:
    """Where fraud traffic seems to come from (IP geolocation of the fraudster)."""
    return COUNTRIES[bisect(_FRAUD_SOURCE_CUMULATIVE, rng.random() * _FRAUD_SOURCE_CUMULATIVE[-1])]


def pick_foreign_country(rng: random.Random, home: Country) -> Country:
    while True:
        country = pick_country(rng)
        if country is not home:
            return country


def pick_brand(rng: random.Random, country: Country) -> Brand:
    weights = []
    for info in BRANDS.values():
        weight = info.weight
        if info.brand is Brand.DISCOVER and country.code != "US":
            weight = 0.0
        if info.brand is Brand.JCB and country.code == "JP":
            weight *= 15
        weights.append(weight)
    return rng.choices(list(BRANDS), weights=weights)[0]


def _brand_of_bin(card_bin: str) -> Brand:
    for info in BRANDS.values():
        if any(card_bin.startswith(prefix) for prefix in info.bin_prefixes):
            return info.brand
    return Brand.VISA


def _build_merchants(config: SimulationConfig, rng: random.Random) -> list[Merchant]:
    providers = list(config.provider_shares)
    provider_weights = [config.provider_shares[p] for p in providers]
    merchants = []
    for _ in range(config.merchant_count):
        category = CATEGORIES[bisect(_CATEGORY_CUMULATIVE, rng.random() * _CATEGORY_CUMULATIVE[-1])]
        merchants.append(
            Merchant(
                id="M" + encode(rng.randbytes(12), UPPER36, 12),
                category=category,
                country=pick_country(rng),
                provider=rng.choices(providers, weights=provider_weights)[0],
                risk=min(1.0, category.risk * rng.uniform(0.6, 1.4)),
                popularity=rng.paretovariate(2.0),
                location_id="L" + encode(rng.randbytes(12), UPPER36, 12),
            )
        )
    return merchants


def _favourites(rng: random.Random, home: list[Merchant], everywhere: list[Merchant]) -> list[Merchant]:
    count = rng.randint(4, 12)
    chosen: list[Merchant] = []
    for _ in range(count):
        pool = home if home and rng.random() < 0.85 else everywhere
        chosen.append(rng.choices(pool, weights=[m.popularity for m in pool])[0])
    return chosen


def build_world(config: SimulationConfig) -> World:
    """The world of `config.seed`: the same seed always gives the same customers and merchants."""
    rng = random.Random(f"world:{config.seed}")
    merchants = _build_merchants(config, rng)
    by_country: dict[str, list[Merchant]] = {}
    for merchant in merchants:
        by_country.setdefault(merchant.country.code, []).append(merchant)
    world = World(config, [], merchants, by_country, _ids=IdFactory(f"world:{config.seed}"))
    start, end = config.start_ts, config.end_ts
    for _ in range(config.customers):
        country = pick_country(rng)
        segment, _, median = SEGMENTS[bisect(_SEGMENT_CUMULATIVE, rng.random() * _SEGMENT_CUMULATIVE[-1])]
        favourites = _favourites(rng, by_country.get(country.code, []), merchants)
        customer = Customer(
            id=world.new_customer_id(rng),
            country=country,
            segment=segment,
            spend_usd=median * rng.lognormvariate(0, 0.4),
            # Mean 1 (exp(mu + sigma^2 / 2)), so the configured rate is the customers' mean rate.
            rate=config.payments_per_customer_day * rng.lognormvariate(-0.18, 0.6),
            devices=[world.new_device(rng) for _ in range(rng.choices((1, 2, 3), weights=(70, 25, 5))[0])],
            cards=[],
            merchants=favourites,
            merchant_cumulative=list(accumulate(m.popularity for m in favourites)),
        )
        for _ in range(rng.choices((1, 2, 3), weights=(60, 30, 10))[0]):
            issuer = country if rng.random() < 0.97 else pick_foreign_country(rng, country)
            customer.cards.append(world.new_card(rng, issuer))
        if rng.random() < 0.04:
            leave = rng.randrange(start, end)
            customer.trip = (leave, leave + rng.randint(3, 10) * 86_400, pick_foreign_country(rng, country))
        if rng.random() < 0.03:
            customer.new_device = (rng.randrange(start, end), world.new_device(rng))
        world.customers.append(customer)
    return world
