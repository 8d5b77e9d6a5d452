"""Everyday shopping: each customer's purchases, day by day, with everything that goes with it.

A customer buys at their own rate (shaped by weekday, payday and local hour of day) from their
favourite merchants, with their own cards and devices, in their usual basket size. Some attempts
are declined and retried, some payments are refunded, a few are disputed for honest reasons.
Travel, new phones and replaced cards happen to honest people too, which is what makes a rules
baseline raise false alarms.
"""

from __future__ import annotations

import math
import random

from contracts.reference.decline_codes import DeclineCategory, categorize
from simulator.behaviours.churn import activity_factor, is_failing
from simulator.behaviours.declines import CHURNING, LEGIT, decline, pick_code
from simulator.behaviours.disputes import maybe_dispute
from simulator.behaviours.retries import retries
from simulator.config import SimulationConfig
from simulator.model import Payment, Refund
from simulator.money import part_of, to_minor
from simulator.seasonality import DAY, DAY_CUMULATIVE, day_factor, local_time
from simulator.world import Customer, World, pick_foreign_country


def _poisson(rng: random.Random, lam: float) -> int:
    """Knuth's method: exact and fast for the small daily rates used here."""
    limit = math.exp(-lam)
    count, product = 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def _purchase(rng: random.Random, world: World, config: SimulationConfig, customer: Customer, at: int) -> Payment:
    trip = customer.trip
    travelling = trip is not None and trip[0] <= at < trip[1]
    if travelling and trip is not None and rng.random() < 0.6:
        merchant = rng.choice(world.merchants_in(trip[2]))
    else:
        merchant = customer.favourite_merchant(rng)
    cards = customer.cards
    card = cards[0] if len(cards) == 1 or rng.random() < 0.85 else rng.choice(cards)
    device = customer.devices[0] if rng.random() < 0.85 else rng.choice(customer.devices)
    if customer.new_device is not None and customer.new_device[0] <= at and rng.random() < 0.8:
        device = customer.new_device[1]
    if travelling and trip is not None:
        ip_country = trip[2].code
    elif rng.random() < 0.02:
        ip_country = pick_foreign_country(rng, customer.country).code
    else:
        ip_country = customer.country.code
    usd = customer.spend_usd * merchant.category.amount_factor * rng.lognormvariate(0, 0.5)
    payment = Payment(
        created_at=at,
        customer_id=customer.id,
        merchant=merchant,
        card=card,
        device_id=device,
        ip_country=ip_country,
        amount_minor=to_minor(usd, merchant.country),
        succeeded=True,
    )
    failing = is_failing(customer, at)
    if card.expires_at <= at:
        payment.succeeded = False
        payment.decline_code = pick_code(rng, merchant.provider, DeclineCategory.EXPIRED_CARD)
        payment.decline_category = categorize(merchant.provider, payment.decline_code)
    else:
        chance = config.decline_rate * (6.0 if failing else 1.0) * (1.8 if travelling else 1.0)
        if card.funding == "prepaid":
            chance *= 1.5
        if rng.random() < chance:
            payment.succeeded = False
            payment.decline_code, payment.decline_category = decline(
                rng, merchant.provider, CHURNING if failing else LEGIT
            )
    return payment


def _follow_ups(rng: random.Random, config: SimulationConfig, payment: Payment) -> None:
    if not payment.succeeded:
        return
    if rng.random() < config.refund_rate:
        at = payment.created_at + int(rng.uniform(0.05, 1.0) ** 2 * 14 * DAY)
        amount = (
            payment.amount_minor
            if rng.random() < 0.7
            else part_of(payment.amount_minor, rng.uniform(0.2, 0.8), payment.currency)
        )
        payment.refund = Refund(at=at, amount_minor=amount)
        return
    maybe_dispute(rng, payment, config.legit_dispute_rate)


def generate(world: World, config: SimulationConfig, rng: random.Random) -> list[Payment]:
    """Every legitimate attempt of every customer over the period, retries included."""
    payments: list[Payment] = []
    start, end = config.start_ts, config.end_ts
    days = [(start + d * DAY, day_factor(start + d * DAY)) for d in range(config.days)]
    for customer in world.customers:
        until = min(end, customer.churn_at) if customer.churn_at is not None else end
        offset = customer.country.utc_offset_hours
        for day_start, factor in days:
            if day_start >= until:
                break
            count = _poisson(rng, customer.rate * factor * activity_factor(customer, day_start))
            for _ in range(count):
                at = local_time(rng, day_start, offset, DAY_CUMULATIVE)
                if at < start:
                    at += DAY
                elif at >= end:
                    at -= DAY
                if at >= until:
                    continue
                payment = _purchase(rng, world, config, customer, at)
                payments.append(payment)
                attempts = retries(rng, world, customer, payment, until) if not payment.succeeded else []
                payments.extend(attempts)
                _follow_ups(rng, config, attempts[-1] if attempts else payment)
    return payments
