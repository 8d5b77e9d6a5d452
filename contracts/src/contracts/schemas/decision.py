"""The outcome of one payment's workflow, published to `payments.decisions.v1`."""

from enum import StrEnum
from uuid import UUID

from contracts.reference.providers import Provider
from contracts.schemas.base import ContractModel, CurrencyCode, Identifier, MinorAmount, Probability, UtcDatetime
from contracts.schemas.scoring import RetryStrategyResponse

DECISION_ID_HEADER = "decision-id"
"""Kafka header of a `payments.decisions.v1` message: the decision's id (its `event_id`), the key
to deduplicate re-published copies by without decoding the value."""


class Decision(StrEnum):
    APPROVE = "approve"
    REVIEW = "review"
    DECLINE = "decline"


class PaymentDecision(ContractModel):
    """One payment's decision. `event_id` (the deciding event's id) identifies the decision: a
    payment is decided once, by its first deciding event, and the decisions table is keyed by it.
    Publishing is at-least-once (a publish retried after a crash sends the stored decision
    again, byte for byte), so consumers deduplicate by `event_id`; the orchestrator also sends it
    as the Kafka header `DECISION_ID_HEADER`."""

    contract_name = "payment_decision"

    event_id: UUID
    payment_id: Identifier
    provider: Provider
    amount_minor: MinorAmount
    currency: CurrencyCode
    decision: Decision
    fraud_score: Probability
    fraud_model_version: Identifier
    churn_score: Probability | None = None
    churn_model_version: Identifier | None = None
    rules_triggered: tuple[str, ...] = ()
    reviewed_by: Identifier | None = None
    retry: RetryStrategyResponse | None = None
    decided_at: UtcDatetime
