"""Card testing: bursts of tiny payments on many stolen card numbers at one weak merchant.

A fraud ring checks which of its card numbers work before selling or using them: tens to a hundred
attempts of a dollar or two within minutes, at night in the merchant's time zone, at a merchant
that sells digital goods or takes donations. The cards share a few BINs (one leaked batch) and
most attempts are declined (wrong CVC, dead or blocked cards). Some rings use one device, which a
per-device velocity rule catches; others rotate devices and guest accounts, which it does not,
though the BIN concentration, the amounts and the decline mix still give them away.
"""

from __future__ import annotations

import random

from simulator.behaviours.declines import CARD_TESTING, decline
from simulator.behaviours.disputes import maybe_dispute
from simulator.config import SimulationConfig
from simulator.model import Pattern, Payment
from simulator.money import to_minor
from simulator.seasonality import NIGHT_CUMULATIVE, instant_in_period
from simulator.world import Merchant, World, pick_brand, pick_country, pick_fraud_source


def _targets(world: World) -> tuple[list[Merchant], list[float]]:
    digital = [m for m in world.merchants if m.category.digital] or world.merchants
    return digital, [m.risk for m in digital]


def generate(world: World, config: SimulationConfig, rng: random.Random, budget: int) -> list[Payment]:
    """Card-testing bursts until `budget` attempts have been made."""
    payments: list[Payment] = []
    targets, weights = _targets(world)
    incident = 0
    while len(payments) < budget:
        incident += 1
        size = min(budget - len(payments), rng.randint(15, 120))
        merchant = rng.choices(targets, weights=weights)[0]
        source = pick_fraud_source(rng)
        issuer = pick_country(rng)
        bin_pool = world.bins(pick_brand(rng, issuer), issuer)[: rng.randint(1, 3)]
        rotate = rng.random() < 0.4
        device = world.new_device(rng)
        account = world.new_fraud_account(rng, source, device)
        works = rng.uniform(0.1, 0.3)
        gap = rng.uniform(5, 60)
        at = instant_in_period(rng, config.start_ts, config.days, merchant.country.utc_offset_hours, NIGHT_CUMULATIVE)
        made = 0
        while made < size:
            card = world.new_card(rng, issuer, bin_pool=bin_pool)
            valid = rng.random() < works
            for _ in range(min(size - made, rng.choice((1, 1, 2, 3)))):
                at += max(1, int(rng.expovariate(1 / gap)))
                if at >= config.end_ts:
                    at = config.end_ts - 1
                if rotate:
                    device = world.new_device(rng)
                    if rng.random() < 0.5:
                        account = world.new_fraud_account(rng, source, device)
                payment = Payment(
                    created_at=at,
                    customer_id=account.id,
                    merchant=merchant,
                    card=card,
                    device_id=device,
                    ip_country=source.code,
                    amount_minor=to_minor(rng.uniform(0.5, 3.0), merchant.country),
                    succeeded=valid,
                    pattern=Pattern.CARD_TESTING,
                    incident=f"card_testing-{incident}",
                )
                if not valid:
                    payment.decline_code, payment.decline_category = decline(rng, merchant.provider, CARD_TESTING)
                maybe_dispute(rng, payment, config.fraud_dispute_rate)
                payments.append(payment)
                made += 1
                if valid:
                    break
    return payments
