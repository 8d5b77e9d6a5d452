"""Churn: some customers stop paying during the run, and it shows beforehand.

Voluntary churners buy less and less over their last three weeks; involuntary churners keep
trying but their cards fail (insufficient funds, expired) and retries rarely rescue them. Both
leave traces a churn model can score before the customer is gone; the ground truth records who
left and when.
"""

from __future__ import annotations

import random

from simulator.config import SimulationConfig
from simulator.world import Customer, World

DAY = 86_400
WARNING_DAYS = 21
"""How long before leaving a churner's behaviour changes."""


def assign_churn(world: World, config: SimulationConfig, rng: random.Random) -> None:
    """Mark `config.churn_rate` of the customers as leaving at some instant of the period."""
    customers = world.customers
    count = round(config.churn_rate * len(customers))
    earliest = config.start_ts + min(7, config.days // 4) * DAY
    for customer in rng.sample(customers, count):
        customer.churn_at = rng.randrange(earliest, config.end_ts)
        customer.churn_kind = "involuntary" if rng.random() < 0.4 else "voluntary"


def activity_factor(customer: Customer, at: int) -> float:
    """How much of their usual rate a customer still buys at `at` (0 once gone)."""
    if customer.churn_at is None:
        return 1.0
    left = customer.churn_at - at
    if left <= 0:
        return 0.0
    if customer.churn_kind == "voluntary" and left < WARNING_DAYS * DAY:
        return 0.25 + 0.75 * left / (WARNING_DAYS * DAY)
    return 1.0


def is_failing(customer: Customer, at: int) -> bool:
    """An involuntary churner in their last weeks: most payments fail."""
    return (
        customer.churn_kind == "involuntary"
        and customer.churn_at is not None
        and 0 < customer.churn_at - at < WARNING_DAYS * DAY
    )
