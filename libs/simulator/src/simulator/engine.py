"""Runs a simulation: world, behaviours, then one time-ordered stream of provider-neutral events.

Legitimate traffic is generated first; the fraud budget is then sized from it so that fraud makes
up `fraud_rate` of all attempts, and split over the patterns by `fraud_mix`. Each behaviour draws
from its own seeded stream, so tuning one pattern does not reshuffle the others.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from contracts.schemas.normalized_event import EventType
from simulator.behaviours import account_takeover, card_testing, friendly_fraud, legit, velocity_abuse
from simulator.behaviours.churn import assign_churn
from simulator.config import SimulationConfig
from simulator.model import PAYMENT_LAG_SECONDS, Payment, SimEvent
from simulator.world import Customer, World, build_world

Behaviour = Callable[[World, SimulationConfig, random.Random, int], list[Payment]]

FRAUD_BEHAVIOURS: dict[str, Behaviour] = {
    "card_testing": card_testing.generate,
    "account_takeover": account_takeover.generate,
    "velocity_abuse": velocity_abuse.generate,
    "friendly_fraud": friendly_fraud.generate,
}


@dataclass(slots=True)
class Simulation:
    config: SimulationConfig
    world: World
    payments: list[Payment]
    """Every attempt, in time order (`payment.index` is the position)."""
    events: list[SimEvent]
    """What the providers report, in time order (`event.seq` is the position)."""

    @property
    def all_customers(self) -> list[Customer]:
        return self.world.customers + self.world.fraud_accounts


def fraud_budgets(config: SimulationConfig, legit_attempts: int) -> dict[str, int]:
    """Attempts per fraud pattern so that fraud is `fraud_rate` of all attempts."""
    total = round(config.fraud_rate * legit_attempts / (1 - config.fraud_rate))
    shares = config.fraud_mix.shares()
    budgets = {name: int(total * share) for name, share in shares.items()}
    leftover = total - sum(budgets.values())
    for name in sorted(shares, key=lambda n: -shares[n])[:leftover]:
        budgets[name] += 1
    return budgets


def _events(config: SimulationConfig, payments: list[Payment]) -> list[SimEvent]:
    horizon = config.horizon_ts
    events: list[SimEvent] = []
    for payment in payments:
        kind = EventType.PAYMENT_SUCCEEDED if payment.succeeded else EventType.PAYMENT_FAILED
        events.append(SimEvent(payment.created_at + PAYMENT_LAG_SECONDS, kind, payment))
        if payment.refund is not None and payment.refund.at < horizon:
            events.append(SimEvent(payment.refund.at, EventType.REFUND_SUCCEEDED, payment))
        dispute = payment.dispute
        if dispute is not None and dispute.opened_at < horizon:
            events.append(SimEvent(dispute.opened_at, EventType.DISPUTE_OPENED, payment))
            if dispute.closed_at < horizon:
                closed = EventType.DISPUTE_WON if dispute.merchant_won else EventType.DISPUTE_LOST
                events.append(SimEvent(dispute.closed_at, closed, payment))
    events.sort(key=lambda event: event.at)
    for seq, event in enumerate(events):
        event.seq = seq
    return events


def simulate(config: SimulationConfig) -> Simulation:
    """The whole run for `config`: same config, same simulation."""
    world = build_world(config)
    assign_churn(world, config, random.Random(f"churn:{config.seed}"))
    payments = legit.generate(world, config, random.Random(f"legit:{config.seed}"))
    for name, budget in fraud_budgets(config, len(payments)).items():
        if budget > 0:
            payments.extend(FRAUD_BEHAVIOURS[name](world, config, random.Random(f"{name}:{config.seed}"), budget))
    payments.sort(key=lambda payment: payment.created_at)
    for index, payment in enumerate(payments):
        payment.index = index
    return Simulation(config, world, payments, _events(config, payments))
