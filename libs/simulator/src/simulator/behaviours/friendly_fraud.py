"""Friendly fraud: a real customer buys normally, then disputes the charge weeks later.

Nothing about the payment looks wrong: own card, own device, home country, a basket a little
larger than usual, often digital goods or a subscription. No rule at payment time catches it; the
signals are the merchant's category and the customer's own history of disputes, since a share of
these customers do it again.
"""

from __future__ import annotations

import random

from simulator.behaviours.disputes import open_dispute
from simulator.config import SimulationConfig
from simulator.model import Pattern, Payment
from simulator.money import to_minor
from simulator.seasonality import DAY_CUMULATIVE, instant_in_period
from simulator.world import Customer, Merchant, World


def _merchant(rng: random.Random, world: World, customer: Customer) -> Merchant:
    digital = [m for m in world.merchants_in(customer.country) if m.category.digital]
    if digital and rng.random() < 0.6:
        return rng.choice(digital)
    return customer.favourite_merchant(rng)


def generate(world: World, config: SimulationConfig, rng: random.Random, budget: int) -> list[Payment]:
    """Friendly-fraud purchases (each later disputed) until `budget` of them exist."""
    payments: list[Payment] = []
    customers = [c for c in world.customers if c.churn_at is None]
    if not customers:
        customers = world.customers
    incident = 0
    while len(payments) < budget:
        incident += 1
        customer = rng.choice(customers)
        repeats = min(budget - len(payments), 1 if rng.random() < 0.7 else rng.randint(2, 3))
        for _ in range(repeats):
            merchant = _merchant(rng, world, customer)
            at = instant_in_period(rng, config.start_ts, config.days, customer.country.utc_offset_hours, DAY_CUMULATIVE)
            usd = customer.spend_usd * merchant.category.amount_factor * rng.uniform(1.0, 2.5)
            payment = Payment(
                created_at=at,
                customer_id=customer.id,
                merchant=merchant,
                card=next((c for c in customer.cards if c.expires_at > at), customer.cards[0]),
                device_id=customer.devices[0],
                ip_country=customer.country.code,
                amount_minor=to_minor(usd, merchant.country),
                succeeded=True,
                pattern=Pattern.FRIENDLY_FRAUD,
                incident=f"friendly_fraud-{incident}",
            )
            payment.dispute = open_dispute(rng, payment)
            payments.append(payment)
    return payments
