"""What a customer (or the merchant's dunning) does after a decline, and how often it works.

The reaction follows the contracts' retry advice for the decline's category: retry at once after a
network hiccup, wait days after insufficient funds, ask the customer for a new card after an
expiry (the world remembers the new card), give up or switch cards after a block. Success odds
differ per category, so a retry strategy learned from this traffic has something real to learn.
"""

from __future__ import annotations

import random
from dataclasses import replace

from contracts.reference.decline_codes import DeclineCategory, RetryAction, advice_for
from simulator.behaviours.churn import is_failing
from simulator.behaviours.declines import CHURNING, LEGIT, decline
from simulator.model import Payment
from simulator.world import Customer, World

_C = DeclineCategory

SUCCESS: dict[DeclineCategory, float] = {
    _C.ISSUER_UNAVAILABLE: 0.7,
    _C.PROCESSING_ERROR: 0.75,
    _C.INSUFFICIENT_FUNDS: 0.45,
    _C.DO_NOT_HONOR: 0.3,
    _C.VELOCITY_LIMIT: 0.6,
    _C.UNKNOWN: 0.3,
    _C.EXPIRED_CARD: 0.92,
    _C.INVALID_CARD_DATA: 0.85,
    _C.AUTHENTICATION_REQUIRED: 0.8,
    _C.LOST_OR_STOLEN: 0.9,
    _C.SUSPECTED_FRAUD: 0.9,
    _C.NOT_SUPPORTED: 0.9,
}
"""Chance that the next attempt succeeds, by the category of the previous decline."""

MAX_ATTEMPTS = 4


def _reaction(rng: random.Random, category: DeclineCategory, customer: Customer) -> tuple[bool, int, bool]:
    """(retry?, delay in seconds, with another card?) after a decline of `category`."""
    advice = advice_for(category)
    if advice.action is RetryAction.RETRY_NOW:
        return rng.random() < 0.85, rng.randint(20, max(60, advice.delay_seconds * 4)), False
    if advice.action is RetryAction.RETRY_LATER:
        return rng.random() < 0.6, int(advice.delay_seconds * rng.uniform(0.3, 1.5)), False
    if advice.action is RetryAction.ASK_CUSTOMER:
        if category is _C.EXPIRED_CARD:
            return rng.random() < 0.75, rng.randint(60, 2 * 86_400), True
        return rng.random() < 0.75, rng.randint(30, 300), False
    # Do not retry this card: some customers pay with another one.
    return len(customer.cards) > 1 and rng.random() < 0.5, rng.randint(60, 600), True


def retries(rng: random.Random, world: World, customer: Customer, first: Payment, until: int) -> list[Payment]:
    """The attempts that follow a declined `first` attempt, before `until`."""
    attempts: list[Payment] = []
    current = first
    while not current.succeeded and current.attempt < MAX_ATTEMPTS:
        category = current.decline_category or _C.UNKNOWN
        again, delay, switch = _reaction(rng, category, customer)
        at = current.created_at + delay
        if not again or at >= until:
            break
        card = current.card
        if switch:
            if category is _C.EXPIRED_CARD or category is _C.LOST_OR_STOLEN:
                # The customer adds a new card; the world remembers it for later purchases.
                card = world.new_card(rng, customer.country, brand=card.brand)
                if current.card in customer.cards:
                    customer.cards[customer.cards.index(current.card)] = card
                else:
                    customer.cards.insert(0, card)
            else:
                others = [c for c in customer.cards if c is not current.card]
                card = rng.choice(others) if others else card
        failing = is_failing(customer, at)
        succeeded = rng.random() < (0.1 if failing else SUCCESS[category])
        code, new_category = (None, None) if succeeded else decline(rng, first.provider, CHURNING if failing else LEGIT)
        if not succeeded and not switch and rng.random() < 0.7:
            # The same card usually fails for the same reason.
            code, new_category = current.decline_code, current.decline_category
        current = replace(
            current,
            created_at=at,
            card=card,
            succeeded=succeeded,
            decline_code=code,
            decline_category=new_category,
            attempt=current.attempt + 1,
            retry_of=first,
        )
        attempts.append(current)
    return attempts
