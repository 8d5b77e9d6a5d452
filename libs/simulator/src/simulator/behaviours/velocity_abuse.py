"""Velocity abuse: a fresh account burns a few stolen cards on many mid-sized purchases, fast.

Six to twenty-five purchases across several merchants within an hour or two, until the issuer
starts declining for velocity. A per-card or per-device hourly count rule catches the impatient
ones; about a third pace themselves over a day to stay under such thresholds, which only features
over longer windows (and the account's young age) reveal.
"""

from __future__ import annotations

import random

from contracts.reference.decline_codes import DeclineCategory
from simulator.behaviours.declines import STOLEN, decline, pick_code
from simulator.behaviours.disputes import maybe_dispute
from simulator.config import SimulationConfig
from simulator.model import Pattern, Payment
from simulator.money import to_minor
from simulator.seasonality import DAY_CUMULATIVE, instant_in_period
from simulator.world import Merchant, World, pick_country, pick_fraud_source


def _merchants(world: World) -> list[Merchant]:
    return [m for m in world.merchants if m.category.resale or m.category.mcc == "5999"] or world.merchants


def generate(world: World, config: SimulationConfig, rng: random.Random, budget: int) -> list[Payment]:
    """Velocity-abuse sprees until `budget` attempts have been made."""
    payments: list[Payment] = []
    pool = _merchants(world)
    incident = 0
    while len(payments) < budget:
        incident += 1
        size = min(budget - len(payments), rng.randint(6, 25))
        source = pick_fraud_source(rng) if rng.random() < 0.5 else pick_country(rng)
        device = world.new_device(rng)
        account = world.new_fraud_account(rng, source, device)
        issuer = pick_country(rng)
        cards = [world.new_card(rng, issuer) for _ in range(rng.randint(1, 3))]
        uses = dict.fromkeys(range(len(cards)), 0)
        merchants = rng.sample(pool, min(len(pool), rng.randint(3, 8)))
        paced = rng.random() < 0.35
        span = rng.randint(12, 24) * 3_600 if paced else rng.randint(20, 180) * 60
        at = instant_in_period(rng, config.start_ts, config.days, source.utc_offset_hours, DAY_CUMULATIVE)
        step = span // size
        for _ in range(size):
            which = rng.randrange(len(cards))
            uses[which] += 1
            merchant = rng.choice(merchants)
            payment = Payment(
                created_at=min(at, config.end_ts - 1),
                customer_id=account.id,
                merchant=merchant,
                card=cards[which],
                device_id=device,
                ip_country=source.code,
                amount_minor=to_minor(rng.uniform(40, 250), merchant.country),
                succeeded=True,
                pattern=Pattern.VELOCITY_ABUSE,
                incident=f"velocity_abuse-{incident}",
            )
            if uses[which] > 5 and not paced and rng.random() < 0.5:
                payment.succeeded = False
                payment.decline_code = pick_code(rng, merchant.provider, DeclineCategory.VELOCITY_LIMIT)
                payment.decline_category = DeclineCategory.VELOCITY_LIMIT
            elif rng.random() < 0.15:
                payment.succeeded = False
                payment.decline_code, payment.decline_category = decline(rng, merchant.provider, STOLEN)
            maybe_dispute(rng, payment, config.fraud_dispute_rate)
            payments.append(payment)
            at += max(30, int(step * rng.uniform(0.5, 1.5)))
    return payments
