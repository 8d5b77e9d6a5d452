"""Business rules from the contracts reference data, and the thresholds that turn a fraud score
into a decision. Pure functions: the workflow calls them directly (deterministic, no I/O)."""

from __future__ import annotations

from dataclasses import dataclass

from contracts.reference.decline_codes import DeclineCategory
from contracts.schemas.decision import Decision
from contracts.schemas.normalized_event import NormalizedEvent

FRAUD_DECLINE_CATEGORIES: frozenset[DeclineCategory] = frozenset(
    {DeclineCategory.LOST_OR_STOLEN, DeclineCategory.SUSPECTED_FRAUD, DeclineCategory.REVOKED}
)
"""Declines where the issuer itself says the card must not be used: the payment is declined
whatever the model says."""


@dataclass(frozen=True)
class RuleOutcome:
    triggered: tuple[str, ...]
    forced: Decision | None


def evaluate_rules(event: NormalizedEvent) -> RuleOutcome:
    triggered: list[str] = []
    forced: Decision | None = None
    if event.decline_category in FRAUD_DECLINE_CATEGORIES:
        triggered.append(f"issuer_decline_{event.decline_category}")
        forced = Decision.DECLINE
    card_country = event.card.country if event.card else None
    if card_country and event.ip_country and card_country != event.ip_country:
        triggered.append("foreign_card")
    return RuleOutcome(tuple(triggered), forced)


def decide(score: float, rules: RuleOutcome, review_threshold: float, decline_threshold: float) -> Decision:
    """DECLINE at or above `decline_threshold` (or when a rule forces it), REVIEW at or above
    `review_threshold`, APPROVE below."""
    if rules.forced is not None:
        return rules.forced
    if score >= decline_threshold:
        return Decision.DECLINE
    if score >= review_threshold:
        return Decision.REVIEW
    return Decision.APPROVE
