"""The simulated behaviour: rates as configured, patterns a model can learn, disputes that lag."""

from __future__ import annotations

import dataclasses
from bisect import bisect_left, bisect_right
from collections import Counter
from datetime import UTC, datetime

import pytest

from contracts.reference.currencies import exponent
from contracts.reference.decline_codes import DeclineCategory, categorize
from contracts.schemas.normalized_event import EventType
from simulator.config import FraudMix, SimulationConfig
from simulator.engine import Simulation, fraud_budgets, simulate
from simulator.model import Pattern, Payment

MEDIUM = SimulationConfig(seed=3, customers=1_500, days=30, fraud_rate=0.03, fraud_dispute_rate=0.6)


@pytest.fixture(scope="module")
def medium() -> Simulation:
    return simulate(MEDIUM)


def test_same_seed_gives_the_same_payments(small_config: SimulationConfig) -> None:
    config = dataclasses.replace(small_config, customers=100)
    first, second = simulate(config), simulate(config)
    key = [(p.created_at, p.customer_id, p.amount_minor, p.pattern, p.succeeded) for p in first.payments]
    assert key == [(p.created_at, p.customer_id, p.amount_minor, p.pattern, p.succeeded) for p in second.payments]


def test_fraud_rate_matches_the_configuration(medium: Simulation) -> None:
    fraud = sum(p.is_fraud for p in medium.payments) / len(medium.payments)
    assert fraud == pytest.approx(MEDIUM.fraud_rate, rel=0.05)


def test_fraud_mix_matches_the_configuration(medium: Simulation) -> None:
    counts = Counter(p.pattern for p in medium.payments if p.is_fraud)
    total = sum(counts.values())
    for name, share in MEDIUM.fraud_mix.shares().items():
        assert counts[Pattern(name)] / total == pytest.approx(share, abs=0.01)


def test_fraud_dispute_rate_matches_the_configuration(medium: Simulation) -> None:
    stolen = [p for p in medium.payments if p.is_fraud and p.pattern is not Pattern.FRIENDLY_FRAUD and p.succeeded]
    disputed = sum(p.dispute is not None for p in stolen) / len(stolen)
    assert disputed == pytest.approx(MEDIUM.fraud_dispute_rate, abs=0.06)
    friendly = [p for p in medium.payments if p.pattern is Pattern.FRIENDLY_FRAUD]
    assert friendly and all(p.dispute is not None for p in friendly)


def test_disputes_are_reported_days_after_the_payment(medium: Simulation) -> None:
    delays = [(p.dispute.opened_at - p.created_at) / 86_400 for p in medium.payments if p.dispute is not None]
    assert min(delays) >= 1
    assert sorted(delays)[len(delays) // 2] > 5


def test_only_successful_payments_are_disputed_or_refunded(medium: Simulation) -> None:
    for payment in medium.payments:
        if payment.dispute is not None or payment.refund is not None:
            assert payment.succeeded


def test_declines_use_the_contracts_decline_codes(medium: Simulation) -> None:
    failed = [p for p in medium.payments if not p.succeeded]
    assert failed
    for payment in failed:
        assert payment.decline_code is not None
        assert categorize(payment.provider, payment.decline_code) is payment.decline_category
        assert payment.decline_category is not DeclineCategory.UNKNOWN


def test_some_retries_succeed(medium: Simulation) -> None:
    retries = [p for p in medium.payments if p.retry_of is not None]
    assert retries
    assert 0.2 < sum(p.succeeded for p in retries) / len(retries) < 0.95
    assert all(p.created_at > p.retry_of.created_at for p in retries if p.retry_of is not None)


def test_card_testing_is_bursts_of_small_amounts_on_many_cards(medium: Simulation) -> None:
    testing = [p for p in medium.payments if p.pattern is Pattern.CARD_TESTING]
    legit = [p for p in medium.payments if p.pattern is Pattern.LEGIT]
    assert len({p.card.fingerprint for p in testing}) > len(testing) / 3
    assert sum(not p.succeeded for p in testing) / len(testing) > 0.5
    usd = sorted(_usd(p) for p in testing)
    legit_usd = sorted(_usd(p) for p in legit)
    assert usd[len(usd) // 2] < legit_usd[len(legit_usd) // 2] / 5
    assert max(usd) < 3.5


def _usd(payment: Payment) -> float:
    country = payment.merchant.country
    return payment.amount_minor / int(10 ** exponent(country.currency)) * country.usd_per_unit


def test_account_takeover_uses_a_new_card_and_device_with_large_amounts(medium: Simulation) -> None:
    customers = {c.id: c for c in medium.world.customers}
    takeovers = [p for p in medium.payments if p.pattern is Pattern.ACCOUNT_TAKEOVER]
    assert takeovers
    for payment in takeovers:
        victim = customers[payment.customer_id]
        assert victim.taken_over_at is not None
        assert payment.card not in victim.cards
        assert payment.device_id not in victim.devices
    foreign = sum(p.ip_country != customers[p.customer_id].country.code for p in takeovers) / len(takeovers)
    assert 0.4 < foreign < 0.95


def test_customers_churn_and_stop_paying(medium: Simulation) -> None:
    churned = [c for c in medium.world.customers if c.churn_at is not None]
    assert len(churned) == round(MEDIUM.churn_rate * MEDIUM.customers)
    gone = {c.id: c.churn_at for c in churned if c.churn_at is not None}
    for payment in medium.payments:
        if payment.pattern is Pattern.LEGIT and payment.customer_id in gone:
            assert payment.created_at < gone[payment.customer_id]


def test_traffic_follows_the_weekly_and_daily_rhythm(medium: Simulation) -> None:
    americans = {c.id for c in medium.world.customers if c.country.code == "US"}
    legit = [p for p in medium.payments if p.pattern is Pattern.LEGIT and p.customer_id in americans]
    hours = Counter((datetime.fromtimestamp(p.created_at, UTC).hour - 5) % 24 for p in legit)
    assert hours[19] > 3 * hours[4]
    weekdays = Counter(datetime.fromtimestamp(p.created_at, UTC).weekday() for p in medium.payments)
    assert weekdays[5] > weekdays[0]


def test_events_are_ordered_and_reference_their_payment(medium: Simulation) -> None:
    times = [e.at for e in medium.events]
    assert times == sorted(times)
    kinds = Counter(e.kind for e in medium.events)
    assert kinds[EventType.PAYMENT_SUCCEEDED] + kinds[EventType.PAYMENT_FAILED] == len(medium.payments)
    assert kinds[EventType.DISPUTE_OPENED] == sum(p.dispute is not None for p in medium.payments)


def test_fraud_budget_is_split_by_the_mix() -> None:
    config = SimulationConfig(fraud_rate=0.1, fraud_mix=FraudMix(1, 1, 1, 1))
    budgets = fraud_budgets(config, 900)
    assert sum(budgets.values()) == 100
    assert max(budgets.values()) - min(budgets.values()) <= 1


def test_no_fraud_when_the_rate_is_zero(small_config: SimulationConfig) -> None:
    run = simulate(dataclasses.replace(small_config, customers=80, fraud_rate=0.0))
    assert not any(p.is_fraud for p in run.payments)


def test_a_rules_baseline_catches_only_part_of_the_fraud(medium: Simulation) -> None:
    """Foreign IP with a large amount, or many attempts per device per hour: the classic rules."""
    home = {c.id: c.country.code for c in medium.all_customers}
    by_device: dict[str, list[int]] = {}
    for payment in medium.payments:
        by_device.setdefault(payment.device_id, []).append(payment.created_at)

    def flagged(payment: Payment) -> bool:
        times = by_device[payment.device_id]
        hourly = bisect_right(times, payment.created_at) - bisect_left(times, payment.created_at - 3_600)
        return (payment.ip_country != home[payment.customer_id] and _usd(payment) > 150) or hourly > 8

    fraud = [p for p in medium.payments if p.is_fraud]
    recall = sum(map(flagged, fraud)) / len(fraud)
    assert 0.05 < recall < 0.8
    assert not any(flagged(p) for p in fraud if p.pattern is Pattern.FRIENDLY_FRAUD)
    assert any(flagged(p) for p in medium.payments if not p.is_fraud)
