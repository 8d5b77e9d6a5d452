"""Account takeover: a fraudster logs into a real customer's account and cashes out.

The attacker adds a stolen card, uses a device the account has never used, usually from another
country, and buys a few expensive, resellable things (electronics, jewellery, flights) within hours,
often at night for the victim. A rule on "new country and high amount" catches many of these; the
ones routed through a proxy in the victim's own country slip past it, but the new card and the new
device on an old account, against that customer's history, still stand out to a model.
"""

from __future__ import annotations

import random

from simulator.behaviours.declines import STOLEN, decline
from simulator.behaviours.disputes import maybe_dispute
from simulator.config import SimulationConfig
from simulator.model import Pattern, Payment
from simulator.money import to_minor
from simulator.seasonality import DAY_CUMULATIVE, NIGHT_CUMULATIVE, instant_in_period
from simulator.world import Customer, Merchant, World, pick_country, pick_fraud_source


def _cash_out_merchants(world: World, victim: Customer) -> list[Merchant]:
    resale = [m for m in world.merchants_in(victim.country) if m.category.resale]
    return resale or [m for m in world.merchants if m.category.resale] or world.merchants


def _victims(world: World, config: SimulationConfig) -> list[Customer]:
    # Accounts that are still active for a while: a churned account is rarely worth taking over.
    cutoff = config.start_ts + config.days * 86_400 // 2
    return [c for c in world.customers if c.churn_at is None or c.churn_at > cutoff]


def generate(world: World, config: SimulationConfig, rng: random.Random, budget: int) -> list[Payment]:
    """Takeovers until `budget` attempts have been made."""
    payments: list[Payment] = []
    victims = _victims(world, config) or world.customers
    incident = 0
    while len(payments) < budget:
        incident += 1
        victim = rng.choice(victims)
        profile = NIGHT_CUMULATIVE if rng.random() < 0.6 else DAY_CUMULATIVE
        at = instant_in_period(rng, config.start_ts, config.days, victim.country.utc_offset_hours, profile)
        if victim.taken_over_at is None or at < victim.taken_over_at:
            victim.taken_over_at = at
        ip_country = pick_fraud_source(rng).code if rng.random() < 0.7 else victim.country.code
        issuer = victim.country if rng.random() < 0.5 else pick_country(rng)
        card = world.new_card(rng, issuer)
        device = world.new_device(rng)
        merchants = _cash_out_merchants(world, victim)
        size = min(budget - len(payments), rng.randint(1, 5))
        for _ in range(size):
            merchant = rng.choice(merchants)
            usd = max(victim.spend_usd, 25.0) * rng.uniform(3, 12) * rng.lognormvariate(0, 0.3)
            payment = Payment(
                created_at=min(at, config.end_ts - 1),
                customer_id=victim.id,
                merchant=merchant,
                card=card,
                device_id=device,
                ip_country=ip_country,
                amount_minor=to_minor(usd, merchant.country),
                succeeded=rng.random() < 0.85,
                pattern=Pattern.ACCOUNT_TAKEOVER,
                incident=f"account_takeover-{incident}",
            )
            if not payment.succeeded:
                payment.decline_code, payment.decline_category = decline(rng, merchant.provider, STOLEN)
            maybe_dispute(rng, payment, config.fraud_dispute_rate)
            payments.append(payment)
            at += rng.randint(120, 2_400)
    return payments
